//! After a failed command: could it have stored its events anyway? (Decides whether a stored
//! file may be removed.)

use aggregates::aggregate_types::MESSAGE;
use aggregates::message::MessageError;
use uuid::Uuid;
use zync::commands::{CommandBus, CommandError};

use crate::support::TestApp;

#[tokio::test]
async fn an_ambiguous_failure_is_settled_by_the_log() {
    let app = TestApp::spawn().await;
    let author = app.register("author").await;
    let channel = app.create_channel(&author, "general").await;
    let posted = app
        .post_message(&author, channel["id"].as_str().unwrap(), "stored")
        .await;
    let stored = Uuid::parse_str(posted["id"].as_str().unwrap()).unwrap();
    let bus = CommandBus::new(app.pool.clone(), None);
    let unavailable = CommandError::<MessageError>::Unavailable;

    assert!(bus.may_have_stored(MESSAGE, stored, &unavailable).await);
    assert!(!bus.may_have_stored(MESSAGE, Uuid::now_v7(), &unavailable).await);
    // Stored for sure, merely not projected yet.
    let late = CommandError::<MessageError>::NotYetVisible;
    assert!(bus.may_have_stored(MESSAGE, Uuid::now_v7(), &late).await);
    // Refused: nothing was stored.
    let refused = CommandError::<MessageError>::NotAMember;
    assert!(!bus.may_have_stored(MESSAGE, stored, &refused).await);

    // And when the log cannot answer, assume the worst for the file: keep it.
    app.pool.close().await;
    let closed = CommandBus::new(app.pool.clone(), None);
    assert!(
        closed
            .may_have_stored(MESSAGE, Uuid::now_v7(), &unavailable)
            .await
    );
}
