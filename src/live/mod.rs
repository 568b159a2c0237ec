//! Live delivery: the per-node feed hub, what each user may see, and the frames they get.

pub mod enrich;
pub mod event;
pub mod frames;
pub mod gate;
pub mod hub;
pub mod membership;
pub mod replay;

pub use event::LiveItem;
pub use gate::ProjectedPosition;
pub use hub::LiveHub;
pub use membership::Memberships;
