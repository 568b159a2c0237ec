//! Query strings and the login form: `QueryParams`'s decoding of every query DTO and the checks
//! done on them (pages, cursors, `as_of` bounds), and `POST /token`'s url-encoded form.
//! Invariants: no panic; a refusal is a 422 listing located issues; an accepted page is within
//! its bounds; an accepted time bound prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zync::audit::Bound;
use zync::http::channels::ChangeOwnerParams;
use zync::http::error::ApiError;
use zync::http::events::EventsParams;
use zync::http::extract::parse_query;
use zync::http::history::HistoryParams as AsOfParams;
use zync::http::session::parse_urlencoded_form;
use zync::read::page::{HistoryParams, PageParams, MAX_LIMIT};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 6 == 5 {
        match parse_urlencoded_form(rest) {
            Ok(form) => {
                let _ = (form.username.trim(), form.password.chars().count());
            }
            Err(e) => refusal(&e),
        }
        return;
    }
    // A request's query is a `str` (the URI parser admits only visible ASCII and `%` escapes).
    let Ok(query) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 6 {
        0 => {
            if let Some(p) = ok(parse_query::<PageParams>(query)) {
                match p.page() {
                    Ok(page) => assert!(page.skip >= 0 && (0..=MAX_LIMIT).contains(&page.limit)),
                    Err(e) => refusal(&e),
                }
                if let Ok(page) = p.page_or_all() {
                    assert!(page.skip >= 0 && page.limit >= 0);
                }
            }
        }
        1 => {
            if let Some(p) = ok(parse_query::<HistoryParams>(query)) {
                match p.page() {
                    Ok((page, _)) => {
                        assert!(page.skip >= 0 && (0..=MAX_LIMIT).contains(&page.limit));
                        assert!(p.before.is_none() || p.after.is_none());
                    }
                    Err(e) => refusal(&e),
                }
            }
        }
        2 => {
            let _ = ok(parse_query::<EventsParams>(query));
        }
        3 => {
            let _ = ok(parse_query::<ChangeOwnerParams>(query));
        }
        _ => {
            if let Some(AsOfParams { as_of: Some(raw) }) = ok(parse_query::<AsOfParams>(query)) {
                match raw.parse::<Bound>() {
                    Ok(Bound::Position(p)) => assert!(p >= 0),
                    Ok(Bound::Time(t)) => {
                        let again: Bound = Bound::Time(t).to_string().parse().expect("a printed time parses");
                        assert_eq!(again, Bound::Time(t));
                    }
                    Err(msg) => assert!(!msg.is_empty()),
                }
            }
        }
    }
});

fn ok<T>(parsed: Result<T, ApiError>) -> Option<T> {
    parsed.map_err(|e| refusal(&e)).ok()
}

fn refusal(e: &ApiError) {
    assert_eq!(e.status.as_u16(), 422, "{}", e.detail);
    let issues = e.detail.as_array().expect("a 422 lists its issues");
    assert!(!issues.is_empty());
    for issue in issues {
        assert!(issue["loc"].as_array().is_some_and(|l| !l.is_empty()), "{issue}");
        assert!(issue["msg"].is_string() && issue["type"].is_string(), "{issue}");
    }
    serde_json::to_vec(&serde_json::json!({ "detail": e.detail })).expect("the error body serialises");
}
