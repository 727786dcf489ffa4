//! The Org API against the simulator.

use futures::TryStreamExt;

use crate::support::TestEnv;

#[tokio::test]
async fn orgs_lists_the_simulated_org_and_get_org_finds_it() {
    let env = TestEnv::start().await;
    let orgs: Vec<_> = env.client.org().orgs().try_collect().await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].id, env.sim.info().org_id);
    let org = env.client.org().get_org(&orgs[0].id).await.unwrap();
    assert_eq!(org.attributes.name, orgs[0].attributes.name);
    let missing = env
        .client
        .org()
        .get_org("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    env.finish().await;
}
