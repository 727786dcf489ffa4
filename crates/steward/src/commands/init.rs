//! `steward init`: writes a configuration file from flags, prompting on a terminal for what is
//! missing. Secrets are read without echo, or referenced by file; never printed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use secrecy::SecretString;

use crate::cli::{Cli, InitArgs};
use crate::config::{
    self, ATLASSIAN_API, AtlassianOut, DATABASE_URL, DatabaseConfig, Exposed, FileOut,
    STATUSPAGE_API, SiteOut, StatuspageOut,
};

struct Prompter {
    interactive: bool,
}

impl Prompter {
    fn line(&self, question: &str, default: Option<&str>) -> anyhow::Result<Option<String>> {
        if !self.interactive {
            return Ok(default.map(str::to_owned));
        }
        match default {
            Some(d) => eprint!("{question} [{d}]: "),
            None => eprint!("{question}: "),
        }
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        let answer = answer.trim();
        Ok(if answer.is_empty() {
            default.map(str::to_owned)
        } else {
            Some(answer.to_owned())
        })
    }

    fn secret(&self, question: &str) -> anyhow::Result<Option<SecretString>> {
        if !self.interactive {
            return Ok(None);
        }
        let value = rpassword::prompt_password(format!("{question} (not echoed): "))
            .context("cannot read from the terminal")?;
        Ok((!value.is_empty()).then(|| SecretString::from(value)))
    }
}

fn pair(value: &str, flag: &str) -> anyhow::Result<(String, String)> {
    value
        .split_once('=')
        .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .with_context(|| format!("--{flag} takes NAME=VALUE, got {value:?}"))
}

fn required(value: Option<String>, flag: &str) -> anyhow::Result<String> {
    value.with_context(|| {
        format!("missing --{flag} (or run `steward init` on a terminal to be asked)")
    })
}

pub fn run(cli: &Cli, args: &InitArgs) -> anyhow::Result<u8> {
    let path = args
        .path
        .clone()
        .or_else(|| cli.config.clone())
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_FILE));
    if path.exists() && !args.force {
        bail!(
            "{} already exists: pass --force to overwrite it",
            path.display()
        );
    }
    let p = Prompter {
        interactive: !args.no_input
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal(),
    };
    let org_id = match &args.org_id {
        Some(v) => v.clone(),
        None => required(
            p.line(
                "Organization id (admin.atlassian.com/o/<org id>/overview)",
                None,
            )?,
            "org-id",
        )?,
    };
    let api_url = match &args.api_url {
        Some(v) => v.clone(),
        None => p
            .line("Org API URL", Some(ATLASSIAN_API))?
            .unwrap_or_else(|| ATLASSIAN_API.to_owned()),
    };
    let (org_api_key, org_api_key_file) = match &args.org_api_key_file {
        Some(f) => (None, Some(f.clone())),
        None => match p.secret("Org API key (admin.atlassian.com → Settings → API keys)")? {
            Some(k) => (Some(Exposed(k)), None),
            None => bail!(
                "missing --org-api-key-file (or run `steward init` on a terminal to be asked for the key)"
            ),
        },
    };
    let integration_email = match &args.integration_email {
        Some(v) => v.clone(),
        None => required(
            p.line("Integration account email", None)?,
            "integration-email",
        )?,
    };
    let token_files: Vec<(String, String)> = args
        .site_token_files
        .iter()
        .map(|s| pair(s, "site-token-file"))
        .collect::<anyhow::Result<_>>()?;
    let token_for = |name: &str| -> anyhow::Result<(Option<Exposed>, Option<PathBuf>)> {
        if let Some((_, f)) = token_files.iter().find(|(n, _)| n == name) {
            return Ok((None, Some(PathBuf::from(f))));
        }
        match p.secret(&format!("API token of {integration_email} for {name}"))? {
            Some(t) => Ok((Some(Exposed(t)), None)),
            None => bail!(
                "missing --site-token-file {name}=FILE (or run `steward init` on a terminal to be asked for the token)"
            ),
        }
    };
    let mut sites = vec![];
    for (name, url) in args
        .sites
        .iter()
        .map(|s| pair(s, "site"))
        .collect::<anyhow::Result<Vec<_>>>()?
    {
        let (api_token, api_token_file) = token_for(&name)?;
        sites.push(SiteOut {
            name,
            url,
            api_token,
            api_token_file,
        });
    }
    if sites.is_empty() && p.interactive {
        while let Some(name) = p.line("Site name (e.g. acme; empty when done)", None)? {
            let default = format!("https://{name}.atlassian.net");
            let url = required(p.line(&format!("URL of {name}"), Some(&default))?, "site")?;
            let (api_token, api_token_file) = token_for(&name)?;
            sites.push(SiteOut {
                name,
                url,
                api_token,
                api_token_file,
            });
        }
    }
    let statuspage_org = match &args.statuspage_organization_id {
        Some(v) => Some(v.clone()),
        None => p.line("Statuspage organization id (empty: no Statuspage)", None)?,
    };
    let statuspage = match statuspage_org {
        None => None,
        Some(organization_id) => {
            let (api_key, api_key_file) = match &args.statuspage_api_key_file {
                Some(f) => (None, Some(f.clone())),
                None => match p.secret("Statuspage API key")? {
                    Some(k) => (Some(Exposed(k)), None),
                    None => bail!(
                        "missing --statuspage-api-key-file (or run `steward init` on a terminal to be asked for the key)"
                    ),
                },
            };
            Some(StatuspageOut {
                url: args
                    .statuspage_url
                    .clone()
                    .unwrap_or_else(|| STATUSPAGE_API.to_owned()),
                api_key,
                api_key_file,
                organization_id,
            })
        }
    };
    let file = FileOut {
        atlassian: AtlassianOut {
            org_id,
            api_url,
            org_api_key,
            org_api_key_file,
            integration_email,
            sites,
        },
        statuspage,
        database: DatabaseConfig {
            url: args
                .database_url
                .clone()
                .unwrap_or_else(|| DATABASE_URL.to_owned()),
            keep_sync_runs: None,
        },
    };
    config::write(&path, &file, args.force)?;
    println!(
        "Wrote {}. Next: steward --config {} verify",
        path.display(),
        path.display()
    );
    Ok(0)
}
