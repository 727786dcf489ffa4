//! Database URLs without their passwords, for errors and logs.

/// Returns `url` with any password replaced by `***` (userinfo password and a `password=`
/// query parameter). Unparseable input is replaced wholesale, since it might hold a secret.
pub fn redact_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        // SQLite URLs carry no credentials, and `sqlite::memory:` isn't a valid `url::Url`.
        return url.to_owned();
    }
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparseable database URL>".to_owned();
    };
    if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
        return "<database URL>".to_owned();
    }
    let has_password_param = parsed
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("password"));
    if has_password_param {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".to_owned()
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
    use super::redact_url;

    #[test]
    fn password_is_replaced() {
        let r = redact_url("postgres://steward:hunter2@db:5432/steward?sslmode=require");
        assert!(!r.contains("hunter2"), "{r}");
        assert!(r.contains("steward:***@db"), "{r}");
    }

    #[test]
    fn password_query_parameter_is_replaced() {
        let r = redact_url("postgres://db/steward?user=x&password=hunter2");
        assert!(!r.contains("hunter2"), "{r}");
    }

    #[test]
    fn sqlite_urls_are_kept() {
        assert_eq!(
            redact_url("sqlite://a.db?mode=rwc"),
            "sqlite://a.db?mode=rwc"
        );
    }
}
