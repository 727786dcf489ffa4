//! Every route the simulator serves exists in the official spec of its family, except the
//! deliberate deviations listed in the crate README.

use atlassian_sim::conformance::Specs;
use atlassian_sim::family::Family;
use atlassian_sim::server::build_router;

use crate::support::TestEnv;

/// Routes served on purpose although the vendored spec lacks them (see the README).
const NOT_IN_SPEC: &[(&str, &str)] = &[
    // Reference §5.2: documented by Atlassian and used by clients, absent from the 2025-09 JSM spec.
    (
        "PUT",
        "/rest/servicedeskapi/customer/user/{accountId}/revoke-portal-only-access",
    ),
];

fn spec_template(family: Family, template: &str) -> String {
    match family {
        Family::ConfluenceV2 => template.trim_start_matches("/wiki/api/v2").to_owned(),
        _ => template.to_owned(),
    }
}

fn same_shape(a: &str, b: &str) -> bool {
    let shape = |t: &str| {
        t.split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    };
    shape(a) == shape(b)
}

#[tokio::test]
async fn every_served_route_exists_in_the_official_spec() {
    let env = TestEnv::start().await;
    let specs = Specs::load().expect("specs load");
    let (_, entries) = build_router(env.sim.app().clone());
    assert!(
        entries.len() > 100,
        "only {} routes registered",
        entries.len()
    );
    let mut missing = vec![];
    for entry in entries.iter().filter(|e| e.family != Family::Control) {
        let template = spec_template(entry.family, entry.template);
        let allowed = NOT_IN_SPEC
            .iter()
            .any(|(m, t)| *m == entry.method && same_shape(t, &template));
        if !specs.has_route(entry.family, entry.method, &template) && !allowed {
            missing.push(format!(
                "{} {} {}",
                entry.family.name(),
                entry.method,
                template
            ));
        }
    }
    env.finish().await;
    assert!(
        missing.is_empty(),
        "routes not in the official spec:\n  {}",
        missing.join("\n  ")
    );
}

#[tokio::test]
async fn the_listed_deviations_really_are_missing_from_the_spec() {
    let specs = Specs::load().expect("specs load");
    for (method, template) in NOT_IN_SPEC {
        assert!(
            !specs.has_route(Family::Jsm, method, template),
            "{method} {template} is in the spec now"
        );
    }
}
