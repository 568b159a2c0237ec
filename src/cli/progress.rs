//! Progress of a long operator command: a bar on a terminal, plain lines every few seconds
//! otherwise (logs, CI).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on a terminal; plain lines every few seconds otherwise (logs, CI).
pub enum Progress {
    Bar(ProgressBar),
    Lines {
        what: String,
        total: u64,
        done: u64,
        started: Instant,
        from: u64,
        last: Instant,
    },
}

const LINE_EVERY: Duration = Duration::from_secs(2);

impl Progress {
    /// `what` names the work ("rebuilding messages"); `total` and `done` count events.
    pub fn new(what: &str, total: u64, done: u64) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total).with_position(done);
            let style = ProgressStyle::with_template(
                "{msg} [{bar:40}] {human_pos}/{human_len} events  {per_sec}  ETA {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(what.to_string());
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                what: what.to_string(),
                total,
                done,
                started: Instant::now(),
                from: done,
                last: Instant::now(),
            }
        }
    }

    pub fn advance(&mut self, by: u64) {
        match self {
            Progress::Bar(bar) => bar.inc(by),
            Progress::Lines {
                what,
                total,
                done,
                started,
                from,
                last,
            } => {
                *done += by;
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    let rate = (*done - *from) as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    let eta = total.saturating_sub(*done) as f64 / rate.max(1.0);
                    eprintln!(
                        "{what}: {done}/{total} events ({:.0}%), {rate:.0} events/s, ETA {eta:.0}s",
                        *done as f64 * 100.0 / (*total).max(1) as f64
                    );
                }
            }
        }
    }

    pub fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
