//! The file-removal reactor under a failing store: the removal is retried (the event is never
//! skipped) and the failure is recorded, while posts and reads carry on as usual, since the
//! projections do not wait for reactors.

use std::time::Duration;

use crate::files_support::{files_room, reactors_caught_up, upload};

async fn reactor_error(app: &crate::support::TestApp) -> Option<String> {
    sqlx::query_scalar("SELECT last_error FROM projection_checkpoints WHERE name = $1")
        .bind(zync::reactors::FileRemoval::NAME)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
        .flatten()
}

#[tokio::test]
async fn a_removal_that_fails_is_retried_until_it_succeeds_without_holding_back_reads() {
    let (app, files, room) = files_room().await;
    let m = upload(&app, &room.member, &room.channel, "a.txt", "text/plain", b"stuck")
        .await
        .expect(201);
    let object = files.join(m["s3_key"].as_str().unwrap());
    assert!(object.is_file());
    // Undeletable, even for root: a directory (with something in it) where the file was.
    std::fs::remove_file(&object).unwrap();
    std::fs::create_dir(&object).unwrap();
    std::fs::write(object.join("pin"), b"x").unwrap();

    let id = m["id"].as_str().unwrap();
    app.delete(&format!("/messages/{id}"), Some(&room.member.token))
        .await
        .expect(200);
    let mut failed = None;
    for _ in 0..600 {
        failed = reactor_error(&app).await;
        if failed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = failed.expect("the reactor records its failure");
    assert!(failed.contains("file_removal"), "{failed}");
    assert!(object.exists(), "the object could not be removed");

    // The projections are not held back: a post is answered, and read, meanwhile.
    let posted = app
        .post_message(&room.member, &room.channel, "still talking")
        .await;
    let read = app
        .get(
            &format!("/messages/{}", posted["id"].as_str().unwrap()),
            Some(&room.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(read["content"], "still talking");
    assert!(object.exists(), "still failing: the event was not skipped");

    // The object's metadata (removed after the object itself) is still there too.
    let metadata = files.join(".meta").join(m["s3_key"].as_str().unwrap());
    assert!(metadata.is_file(), "{}", metadata.display());

    // Removable again: the next retry gets through, metadata and all.
    std::fs::remove_dir_all(&object).unwrap();
    reactors_caught_up(&app).await;
    assert!(!metadata.exists(), "the retried removal ran to the end");
    assert!(!object.exists());
    assert_eq!(reactor_error(&app).await, None, "and cleared the recorded error");
}
