//! The tower layer that records every request's method, route template, status and latency
//! into [`Metrics`]: no boxing, no allocation once a (route, method, status) series exists.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{Method, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::{Metrics, METHODS, UNMATCHED};

/// The router layer recording every request's method, route template, status and latency.
#[derive(Clone)]
pub struct MetricsLayer {
    metrics: Arc<Metrics>,
}

impl MetricsLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Recorded<S>;

    fn layer(&self, inner: S) -> Recorded<S> {
        Recorded {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Recorded<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Recorded<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RecordedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let method = method_label(request.method());
        // The template, shared with the router (cloning it is a reference count).
        let route = request.extensions().get::<MatchedPath>().cloned();
        RecordedFuture {
            inner: self.inner.call(request),
            metrics: self.metrics.clone(),
            method,
            route,
            start: Instant::now(),
        }
    }
}

pin_project! {
    pub struct RecordedFuture<F> {
        #[pin]
        inner: F,
        metrics: Arc<Metrics>,
        method: u8,
        route: Option<MatchedPath>,
        start: Instant,
    }
}

impl<F, ResBody, E> Future for RecordedFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            let route = this.route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
            this.metrics.record(
                *this.method,
                route,
                response.status().as_u16(),
                this.start.elapsed(),
            );
        }
        Poll::Ready(result)
    }
}

pub(super) fn method_label(method: &Method) -> u8 {
    let index = METHODS[..METHODS.len() - 1]
        .iter()
        .position(|m| *m == method.as_str())
        .unwrap_or(METHODS.len() - 1);
    index as u8
}
