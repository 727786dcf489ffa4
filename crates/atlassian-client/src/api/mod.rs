//! One handler per API family, reached from [`Client`](crate::Client):
//! `client.org()`, `client.user_management()`, `client.jira(site)`, `client.jsm(site)`,
//! `client.confluence(site)`, `client.statuspage()`.

pub mod confluence;
pub mod jira;
pub mod jsm;
pub mod org;
pub mod statuspage;
pub mod user_management;
