//! `config`: the `steward` configuration file (TOML through figment, then validation: the
//! scheduler settings, the approval policy and the resolved [`Target`](steward_engine::Target)).
//!
//! The input is the file's text (lossily UTF-8). The environment is not read.

/// Secret values that no error may quote (figment errors quote values).
const SECRETS: [&str; 3] = [
    "CANARY-org-key-3b1f",
    "CANARY-site-token-8e2a",
    "CANARY-statuspage-key-c4d9",
];

/// The target. Panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check(&text);
    // The same text with the canary secrets as the values of the secret keys: an error about
    // them (wrong type, unknown neighbour, a missing key) must not quote them.
    if data.len() < 4096 {
        let with_secrets = format!(
            "{text}\n[atlassian]\norg_api_key = \"{}\"\n[[atlassian.sites]]\napi_token = \"{}\"\n[statuspage]\napi_key = \"{}\"\n",
            SECRETS[0], SECRETS[1], SECRETS[2]
        );
        check(&with_secrets);
    }
}

fn check(text: &str) {
    let assert_clean = |message: &str| {
        assert!(!message.trim().is_empty(), "an error without a message");
        for secret in SECRETS {
            assert!(
                !message.contains(secret),
                "a secret in a configuration error: {message}"
            );
        }
    };
    let config = match steward::config::parse_toml(text) {
        Ok(config) => config,
        Err(e) => return assert_clean(&format!("{e:#}")),
    };
    if let Err(e) = config.service.scheduler() {
        assert_clean(&format!("{e:#}"));
    }
    if let Err(e) = config.approvals.validate() {
        assert_clean(&e.to_string());
    }
    // `*_file` keys name files to read: not from fuzz input (it could name /dev/zero).
    let reads_files = config.atlassian.as_ref().is_some_and(|a| {
        a.org_api_key_file.is_some() || a.sites.iter().any(|s| s.api_token_file.is_some())
    }) || config
        .statuspage
        .as_ref()
        .is_some_and(|s| s.api_key_file.is_some());
    if !reads_files {
        match steward::config::target(&config) {
            Ok(target) => {
                let configured = config.atlassian.as_ref().map_or(0, |a| a.sites.len());
                assert_eq!(target.sites.len(), configured, "a site lost or invented");
                let debug = format!("{target:?}");
                for secret in SECRETS {
                    assert!(!debug.contains(secret), "a secret in Target's Debug");
                }
            }
            Err(e) => assert_clean(&format!("{e:#}")),
        }
    }
}
