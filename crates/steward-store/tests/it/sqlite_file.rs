//! SQLite-only behaviour: the database file and its directory.

use steward_store::Store;

#[tokio::test]
async fn first_open_creates_the_missing_data_directory() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("data").join("nested").join("steward.db");
    let store = Store::open(&format!("sqlite://{}", file.display())).await?;
    assert!(file.exists());
    assert!(store.runs().latest_completed().await?.is_none());
    store.close().await;
    Ok(())
}

#[tokio::test]
async fn in_memory_store_keeps_its_data_across_calls() -> anyhow::Result<()> {
    let store = Store::open_in_memory().await?;
    let run = store.runs().begin().await?;
    store
        .runs()
        .complete(run, &serde_json::json!({}), &[])
        .await?;
    assert_eq!(
        store.runs().latest_completed().await?.map(|r| r.id),
        Some(run)
    );
    Ok(())
}
