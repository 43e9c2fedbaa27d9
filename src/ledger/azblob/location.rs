//! Where a ledger blob is: `azblob://ACCOUNT/CONTAINER[/PATH]` (the public cloud) or an account
//! URL for sovereign clouds and emulators (`https://ACCOUNT.blob.core.usgovcloudapi.net/...`,
//! `http://127.0.0.1:10000/ACCOUNT/...` path-style, as Azurite serves it).

use reqwest::Url;

/// A parsed ledger blob location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobLocation {
    /// The account's blob endpoint, e.g. `https://acct.blob.core.windows.net` or
    /// `http://127.0.0.1:10000/devstoreaccount1` (no trailing slash).
    pub endpoint: String,
    pub account: String,
    pub container: String,
    /// The blob name (may contain `/`).
    pub blob: String,
}

/// How a location is written, for messages.
pub const FORMS: &str = "write azblob://ACCOUNT/CONTAINER/PATH, or an account URL such as https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH (http:// only to loopback, e.g. Azurite's http://127.0.0.1:10000/devstoreaccount1/CONTAINER/PATH)";

/// Why a location is not usable (callers add [`FORMS`] where no other hint says it).
pub fn bad(url: &str, why: &str) -> String {
    format!("the state location `{url}` is not valid: {why}")
}

impl BlobLocation {
    /// Parses `url`; a missing blob name or one ending in `/` gets `default_name` appended.
    pub fn parse(url: &str, default_name: &str) -> Result<Self, String> {
        let shown = crate::powerbi::retry::redact_url(url);
        let (endpoint, account, rest) = if let Some(rest) = url.strip_prefix("azblob://") {
            let (account, rest) = rest.split_once('/').unwrap_or((rest, ""));
            let endpoint = format!("https://{account}.blob.core.windows.net");
            (endpoint, account.to_owned(), rest.to_owned())
        } else {
            let parsed = Url::parse(url).map_err(|e| bad(&shown, &e.to_string()))?;
            crate::powerbi::client::check_transport(&parsed)
                .map_err(|e| bad(&shown, &e.to_string()))?;
            if parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(bad(
                    &shown,
                    "it has a query or fragment (give a SAS token as a secret reference, never in the URL)",
                ));
            }
            let host = parsed.host_str().unwrap_or_default().to_owned();
            let origin = parsed.origin().ascii_serialization();
            let path = parsed.path().trim_start_matches('/').to_owned();
            if host.parse::<std::net::IpAddr>().is_ok()
                || host
                    .trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok()
                || host.eq_ignore_ascii_case("localhost")
            {
                // Path-style (emulators): the first segment is the account.
                let (account, rest) = path.split_once('/').unwrap_or((&path, ""));
                (
                    format!("{origin}/{account}"),
                    account.to_owned(),
                    rest.to_owned(),
                )
            } else {
                let account = host.split('.').next().unwrap_or_default().to_owned();
                (origin, account, path)
            }
        };
        let (container, blob) = rest.split_once('/').unwrap_or((&rest, ""));
        check_account(&account).map_err(|w| bad(&shown, &w))?;
        check_container(container).map_err(|w| bad(&shown, &w))?;
        let blob = if blob.is_empty() || blob.ends_with('/') {
            format!("{blob}{default_name}")
        } else {
            blob.to_owned()
        };
        let blob = percent_decode(&blob)
            .ok_or_else(|| bad(&shown, "its path is not valid percent-encoded UTF-8"))?;
        if blob.len() > 1024 || blob.split('/').any(|s| s == "." || s == "..") {
            return Err(bad(
                &shown,
                "the blob name is longer than 1024 characters or has a . or .. segment",
            ));
        }
        Ok(Self {
            endpoint,
            account,
            container: container.to_owned(),
            blob,
        })
    }

    /// The blob's URL (path segments percent-encoded).
    pub fn blob_url(&self) -> Result<Url, String> {
        let mut url = self.container_url()?;
        url.path_segments_mut()
            .map_err(|()| "the endpoint is not a base URL".to_owned())?
            .extend(self.blob.split('/'));
        Ok(url)
    }

    /// The container's URL.
    pub fn container_url(&self) -> Result<Url, String> {
        let mut url = Url::parse(&self.endpoint).map_err(|e| e.to_string())?;
        url.path_segments_mut()
            .map_err(|()| "the endpoint is not a base URL".to_owned())?
            .pop_if_empty()
            .push(&self.container);
        Ok(url)
    }

    /// For messages: `azblob://ACCOUNT/CONTAINER/BLOB` plus the endpoint when it is not the
    /// public cloud's.
    pub fn describe(&self) -> String {
        let short = format!("azblob://{}/{}/{}", self.account, self.container, self.blob);
        if self.endpoint == format!("https://{}.blob.core.windows.net", self.account) {
            short
        } else {
            format!("{short} (at {})", self.endpoint)
        }
    }
}

fn check_account(account: &str) -> Result<(), String> {
    let ok = (3..=24).contains(&account.len())
        && account
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{account}` is not a storage account name (3-24 lowercase letters and digits)"
        ))
    }
}

fn check_container(container: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&container.len())
        && container
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !container.starts_with('-')
        && !container.ends_with('-')
        && !container.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{container}` is not a container name (3-63 lowercase letters, digits and single hyphens)"
        ))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azblob_urls_name_the_public_cloud_and_default_the_blob_name() {
        let l = BlobLocation::parse("azblob://acct/state/prod/", "m.prod.pbideploy-state.json")
            .unwrap();
        assert_eq!(l.endpoint, "https://acct.blob.core.windows.net");
        assert_eq!(l.container, "state");
        assert_eq!(l.blob, "prod/m.prod.pbideploy-state.json");
        assert_eq!(
            l.blob_url().unwrap().as_str(),
            "https://acct.blob.core.windows.net/state/prod/m.prod.pbideploy-state.json"
        );
        let l = BlobLocation::parse("azblob://acct/state", "x.json").unwrap();
        assert_eq!(l.blob, "x.json");
        assert_eq!(l.describe(), "azblob://acct/state/x.json");
    }

    #[test]
    fn account_urls_for_sovereign_clouds_and_path_style_emulators() {
        let l = BlobLocation::parse(
            "https://acct.blob.core.usgovcloudapi.net/c01/a%20b.json",
            "d",
        )
        .unwrap();
        assert_eq!(l.endpoint, "https://acct.blob.core.usgovcloudapi.net");
        assert_eq!(l.blob, "a b.json");
        assert_eq!(l.blob_url().unwrap().path(), "/c01/a%20b.json");
        let l = BlobLocation::parse(
            "http://127.0.0.1:10000/devstoreaccount1/ledgers/l.json",
            "d",
        )
        .unwrap();
        assert_eq!(l.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
        assert_eq!(l.account, "devstoreaccount1");
        assert_eq!(
            l.blob_url().unwrap().as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/ledgers/l.json"
        );
    }

    #[test]
    fn plain_http_beyond_loopback_and_bad_names_are_refused() {
        for (url, says) in [
            ("http://acct.blob.core.windows.net/c01/x", "http"),
            ("azblob://ACCT/c01/x", "storage account name"),
            ("azblob://acct/C_1/x", "container name"),
            ("azblob://acct/c01/../x", ".."),
            (
                "https://acct.blob.core.windows.net/c01/x?sv=1&sig=abc",
                "secret reference",
            ),
        ] {
            let err = BlobLocation::parse(url, "d").unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("sig=abc"), "{err}");
        }
    }
}
