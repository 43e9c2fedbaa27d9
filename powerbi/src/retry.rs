//! The retry policy, kube-rs style: a small explicit classification of what is retried (429,
//! 503, 504, transient I/O), exponential backoff with jitter, `Retry-After` honoured and
//! capped. Non-idempotent requests (POST imports, refreshes, creations) are never repeated
//! after an ambiguous failure: the caller gets [`Decision::Ambiguous`] and must look first.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How hard to retry. Tests shrink the delays; production keeps the defaults.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retries).
    pub max_retries: usize,
    /// Retries of throttled (429) attempts, counted apart: a 429 was refused before it ran,
    /// so waiting it out is always safe, and under a tight budget one request may meet
    /// several in a row while the client's pace settles.
    pub max_throttled_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// Cap on a server-sent `Retry-After`, so a bogus value cannot stall a pipeline for hours.
    pub max_retry_after: Duration,
    /// Randomise delays so parallel requests do not retry in lockstep.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 6,
            max_throttled_retries: 30,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The backoff delays for one request, in order.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        let mut builder = ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries);
        if self.jitter {
            builder = builder.with_jitter();
        }
        builder.build()
    }

    /// The delay before the next attempt: `Retry-After` (capped) when the server sent one,
    /// otherwise the next backoff step.
    pub fn delay_for(&self, backoff: Duration, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_retry_after),
            None => backoff,
        }
    }
}

/// The retries left to one request: backoff steps for failures, a separate count for 429s.
pub struct Retries<'a> {
    policy: &'a RetryPolicy,
    delays: Box<dyn Iterator<Item = Duration> + Send>,
    throttled: usize,
}

impl<'a> Retries<'a> {
    /// The full budget of `policy`.
    pub fn new(policy: &'a RetryPolicy) -> Self {
        Self {
            policy,
            delays: Box::new(policy.delays()),
            throttled: 0,
        }
    }

    /// The wait before the next attempt, or `None` when the budget is spent. A throttled
    /// attempt with `Retry-After` waits nothing here: the client's limiter pauses every
    /// request for it, this one included, and keeps its turn in the queue.
    pub fn next_delay(
        &mut self,
        throttled: bool,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if throttled {
            self.throttled += 1;
            if self.throttled > self.policy.max_throttled_retries {
                return None;
            }
            return Some(match retry_after {
                Some(_) => Duration::ZERO,
                None => self.delays.next().unwrap_or(self.policy.max_delay),
            });
        }
        let backoff = self.delays.next()?;
        Some(self.policy.delay_for(backoff, retry_after))
    }
}

/// Whether repeating a request can do harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it leaves the same state (GET, PUT, PATCH, DELETE, state-setting POSTs).
    Idempotent,
    /// Repeating it may create a second thing (POST imports, refreshes, creations).
    NonIdempotent,
}

/// What to do with a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after a delay.
    Retry,
    /// Give up with the error.
    Fail,
    /// The request may have taken effect: give up and let the caller find out.
    Ambiguous,
}

/// Classifies an error status, given how many 500s this request already met (`earlier_500s`).
/// 429 means the request was rejected before it ran, so it is retried even for
/// non-idempotent requests; 502/503/504 only for idempotent ones. Power BI's `500 An error
/// has occurred` is sometimes transient and sometimes permanent (a large model not in large
/// format), so an idempotent request is retried once after it, not with the whole budget
/// (other Power BI clients, the Terraform provider among them, also retry a 500 only once):
/// counting 500s, not attempts, so throttled attempts before it do not use that one retry
/// up.
pub fn classify_status(
    status: StatusCode,
    idempotency: Idempotency,
    earlier_500s: u32,
) -> Decision {
    match (status.as_u16(), idempotency) {
        (429, _) => Decision::Retry,
        (502..=504, Idempotency::Idempotent) => Decision::Retry,
        (500, Idempotency::Idempotent) if earlier_500s == 0 => Decision::Retry,
        (500..=599, Idempotency::NonIdempotent) => Decision::Ambiguous,
        _ => Decision::Fail,
    }
}

/// Classifies a transport error. A refused connection never reached the service, so it is
/// retried for every request; a dropped connection or timeout only for idempotent ones.
pub fn classify_transport(err: &reqwest::Error, idempotency: Idempotency) -> Decision {
    if err.is_builder() || err.is_redirect() || err.is_decode() {
        return Decision::Fail;
    }
    if err.is_connect() {
        return Decision::Retry;
    }
    match idempotency {
        Idempotency::Idempotent => Decision::Retry,
        Idempotency::NonIdempotent => Decision::Ambiguous,
    }
}

/// Parses `Retry-After` as delta-seconds or an HTTP date (relative to `now`). Dates in the
/// past give zero.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(1e9)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Query parameters whose values are secrets (SAS signatures, tokens) and never logged.
const SECRET_QUERY_KEYS: &[&str] = &[
    "sig",
    "signature",
    "token",
    "access_token",
    "code",
    "client_secret",
    "password",
    "key",
    "skoid",
    "sktid",
];

/// A URL safe to log: secret query values (`sig=` and friends) and userinfo replaced by
/// `REDACTED`. Unparseable input loses its whole query.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.split(['?', '#']).next().unwrap_or_default().to_owned();
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        let _ = parsed.set_username("REDACTED");
        let _ = parsed.set_password(None);
    }
    parsed.set_fragment(None);
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_QUERY_KEYS.iter().any(|s| k.eq_ignore_ascii_case(s));
                let v = if secret {
                    "REDACTED".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_500_is_retried_once_and_only_when_idempotent() {
        let s = StatusCode::INTERNAL_SERVER_ERROR;
        assert_eq!(
            classify_status(s, Idempotency::Idempotent, 0),
            Decision::Retry
        );
        assert_eq!(
            classify_status(s, Idempotency::Idempotent, 1),
            Decision::Fail
        );
        assert_eq!(
            classify_status(s, Idempotency::NonIdempotent, 0),
            Decision::Ambiguous
        );
        let bad_gateway = StatusCode::BAD_GATEWAY;
        assert_eq!(
            classify_status(bad_gateway, Idempotency::Idempotent, 5),
            Decision::Retry
        );
    }

    #[test]
    fn statuses_classified() {
        use Decision::*;
        use Idempotency::*;
        for (code, idem, want) in [
            (429, Idempotent, Retry),
            (429, NonIdempotent, Retry),
            (503, Idempotent, Retry),
            (504, Idempotent, Retry),
            (503, NonIdempotent, Ambiguous),
            (500, NonIdempotent, Ambiguous),
            (502, Idempotent, Retry),
            (500, Idempotent, Retry),
            (400, Idempotent, Fail),
            (401, Idempotent, Fail),
            (404, NonIdempotent, Fail),
            (409, Idempotent, Fail),
        ] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(classify_status(status, idem, 0), want, "{code} {idem:?}");
        }
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&past).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn retry_after_is_capped_and_backoff_bounded() {
        let p = RetryPolicy {
            max_retries: 3,
            max_throttled_retries: 3,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(5),
            jitter: false,
        };
        let delays: Vec<_> = p.delays().collect();
        assert_eq!(delays.len(), 3);
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(40)));
        assert_eq!(
            p.delay_for(Duration::ZERO, Some(Duration::from_secs(3600))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn throttled_retries_have_their_own_budget() {
        let p = RetryPolicy {
            max_retries: 1,
            max_throttled_retries: 3,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(5),
            jitter: false,
        };
        let mut r = Retries::new(&p);
        let ra = Some(Duration::from_secs(2));
        for _ in 0..3 {
            assert_eq!(
                r.next_delay(true, ra),
                Some(Duration::ZERO),
                "the limiter waits"
            );
        }
        assert_eq!(r.next_delay(true, ra), None, "429 budget spent");
        assert_eq!(r.next_delay(false, None), Some(Duration::from_millis(10)));
        assert_eq!(r.next_delay(false, None), None, "failure budget spent");
        let mut r = Retries::new(&p);
        assert_eq!(r.next_delay(true, None), Some(Duration::from_millis(10)));
        assert_eq!(
            r.next_delay(true, None),
            Some(Duration::from_millis(40)),
            "then max_delay"
        );
    }

    #[test]
    fn redacts_sas_signature_and_userinfo() {
        let url = "https://acct.blob.core.windows.net/c/b?sv=2020&sig=abc%2Bdef&comp=block";
        let red = redact_url(url);
        assert!(!red.contains("abc"), "{red}");
        assert!(
            red.contains("sig=REDACTED") && red.contains("sv=2020"),
            "{red}"
        );
        let red = redact_url("https://user:pw@host/x?a=1");
        assert!(!red.contains("pw") && !red.contains("user:"), "{red}");
        assert_eq!(redact_url("not a url?sig=x"), "not a url");
    }
}
