//! The benchmark profiles: the org the simulator seeds and how much provisioning work runs.

use atlassian_sim::seed::SizeProfile;

/// The simulated round-trip latency of every Atlassian request (milliseconds).
pub const LATENCY_MS: u64 = 30;
/// Uniform jitter around [`LATENCY_MS`] (± milliseconds).
pub const JITTER_MS: u64 = 10;

/// A profile's name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileName {
    /// 60 users, short latency, a handful of provisioning jobs: the smoke test.
    Tiny,
    /// 500 users.
    S,
    /// 5,000 users.
    M,
    /// 50,000 users.
    L,
}

/// What one profile seeds and runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSpec {
    /// Its name.
    pub name: ProfileName,
    /// The simulator's size profile (sites, groups, memberships per user).
    pub size: SizeProfile,
    /// Users, when the size profile's count is overridden.
    pub users: Option<usize>,
    /// Latency of every Atlassian request (ms).
    pub latency_ms: u64,
    /// Jitter (± ms).
    pub jitter_ms: u64,
    /// People onboarded (each with three entitlements).
    pub onboard: usize,
    /// People offboarded.
    pub offboard: usize,
}

impl ProfileName {
    /// `tiny`, `s`, `m` or `l` (any case).
    ///
    /// # Errors
    /// An unknown name, with the valid ones.
    pub fn parse(input: &str) -> anyhow::Result<ProfileName> {
        match input.to_ascii_lowercase().as_str() {
            "tiny" => Ok(ProfileName::Tiny),
            "s" => Ok(ProfileName::S),
            "m" => Ok(ProfileName::M),
            "l" => Ok(ProfileName::L),
            other => anyhow::bail!("unknown profile {other:?}: use s, m, l, all or tiny"),
        }
    }

    /// Like [`ProfileName::parse`], with `all` meaning s, m and l in that order.
    ///
    /// # Errors
    /// An unknown name.
    pub fn parse_list(input: &str) -> anyhow::Result<Vec<ProfileName>> {
        if input.eq_ignore_ascii_case("all") {
            return Ok(vec![ProfileName::S, ProfileName::M, ProfileName::L]);
        }
        Ok(vec![ProfileName::parse(input)?])
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Tiny => "tiny",
            ProfileName::S => "s",
            ProfileName::M => "m",
            ProfileName::L => "l",
        }
    }

    /// The profile's settings. S, M and L share the shape of the simulator's `medium` and
    /// `large` orgs (2 sites with Jira, Confluence, JSM and JPD each; Statuspage with 3 pages),
    /// so cost can be compared across sizes.
    pub fn spec(self) -> ProfileSpec {
        let (size, users, latency_ms, jitter_ms, onboard, offboard) = match self {
            ProfileName::Tiny => (SizeProfile::Small, None, 2, 1, 4, 2),
            ProfileName::S => (
                SizeProfile::Medium,
                Some(500),
                LATENCY_MS,
                JITTER_MS,
                500,
                100,
            ),
            ProfileName::M => (SizeProfile::Medium, None, LATENCY_MS, JITTER_MS, 500, 100),
            ProfileName::L => (SizeProfile::Large, None, LATENCY_MS, JITTER_MS, 500, 100),
        };
        ProfileSpec {
            name: self,
            size,
            users,
            latency_ms,
            jitter_ms,
            onboard,
            offboard,
        }
    }
}

/// How the client paces its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// The client's defaults, as Steward ships (Org API and sites 50 req/s, Statuspage 1 req/s
    /// without burst, 16 in flight per scope).
    Shipped,
    /// The rates the simulator enforces (Org API and sites 100 req/s), to see how close the
    /// engine gets when the client is not the limit. Statuspage stays at 1 req/s without burst:
    /// a token bucket with a larger burst would break its rolling 60-second window.
    Documented,
}

impl Pace {
    /// `shipped` or `documented`.
    ///
    /// # Errors
    /// Any other name.
    pub fn parse(input: &str) -> anyhow::Result<Pace> {
        match input.to_ascii_lowercase().as_str() {
            "shipped" => Ok(Pace::Shipped),
            "documented" => Ok(Pace::Documented),
            other => anyhow::bail!("unknown pace {other:?}: use shipped or documented"),
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Pace::Shipped => "shipped",
            Pace::Documented => "documented",
        }
    }
}
