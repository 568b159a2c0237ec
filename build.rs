// `sqlx::migrate!` embeds the migrations it finds at compile time, but cargo only knows to
// rebuild when a file it embedded changes; a *new* migration would be silently left out of an
// incremental build. Watching the directory makes adding one rebuild the binary.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
