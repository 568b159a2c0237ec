//! Looking up many data keys at once (a rebuild's batch) gives exactly the keys that exist,
//! whichever way the lookup goes: a walk of one stretch of the primary key, one descent per id,
//! or both.

use std::collections::HashSet;

use projections::personal::{self, MasterKey, NewKey};
use uuid::Uuid;

use crate::support::{TestApp, TEST_MASTER_KEY};

async fn keep_keys(app: &TestApp, master: &MasterKey, subjects: &[Uuid]) {
    let wanted: Vec<NewKey> = subjects
        .iter()
        .map(|&subject| NewKey {
            subject,
            owner: subject,
            channel: None,
        })
        .collect();
    let mut conn = app.pool.acquire().await.unwrap();
    personal::insert_data_keys(&mut conn, master, &wanted)
        .await
        .unwrap();
}

async fn found(app: &TestApp, master: &MasterKey, asked: &[Uuid]) -> HashSet<Uuid> {
    let mut conn = app.pool.acquire().await.unwrap();
    personal::data_keys(&mut conn, master, asked)
        .await
        .unwrap()
        .into_keys()
        .collect()
}

#[tokio::test]
async fn a_large_lookup_finds_exactly_the_keys_that_exist() {
    let app = TestApp::spawn().await;
    let master = MasterKey::from_hex(TEST_MASTER_KEY).unwrap();
    // Ids made in time order, as posts' are: 6,000 keys, every third of them destroyed.
    let ids: Vec<Uuid> = (0..6_000).map(|_| Uuid::now_v7()).collect();
    keep_keys(&app, &master, &ids).await;
    let destroyed: Vec<Uuid> = ids.iter().copied().step_by(3).collect();
    sqlx::query("DELETE FROM data_keys WHERE subject_id = ANY($1)")
        .bind(&destroyed)
        .execute(&app.pool)
        .await
        .unwrap();
    let exists = |id: &Uuid| !destroyed.contains(id);
    let never_kept: Vec<Uuid> = (0..50).map(|_| Uuid::now_v7()).collect();

    // A dense stretch, with ids far outside it (older and newer) and ids that never had a key.
    let mut dense: Vec<Uuid> = ids[2_000..4_000].to_vec();
    dense.extend_from_slice(&ids[..200]);
    dense.extend_from_slice(&ids[5_800..]);
    dense.extend_from_slice(&never_kept);
    dense.extend_from_slice(&ids[2_000..2_100]); // asked twice
                                                 // A sparse one: one id in five of the whole range, so the stretch holds many other keys.
    let sparse: Vec<Uuid> = ids.iter().copied().step_by(5).collect();
    // A small one, looked up one by one.
    let small: Vec<Uuid> = ids[10..40].to_vec();

    for asked in [dense, sparse, small] {
        let expected: HashSet<Uuid> = asked
            .iter()
            .copied()
            .filter(|id| ids.contains(id) && exists(id))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(
            found(&app, &master, &asked).await,
            expected,
            "{} ids asked",
            asked.len()
        );
    }
    app.stop().await;
}
