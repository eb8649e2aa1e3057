//! The user database lookups behind `gyre --user/--group`, and the refusal
//! to fork a multithreaded process when detaching. (Assuming an identity
//! and detaching for real change the whole process: they are tested by
//! running the `gyre` binary, in crates/gyre/tests/app_cli.rs.)

use gyre_reactor::daemon;
use gyre_reactor::privileges::Identity;

#[test]
fn users_and_groups_resolve_by_name_and_number() {
    let root = Identity::resolve(Some("root"), None).unwrap();
    assert_eq!(root, Identity { uid: 0, gid: 0 });
    let numeric = Identity::resolve(Some("4242"), Some("4343")).unwrap();
    assert_eq!(numeric, Identity { uid: 4242, gid: 4343 });
    let current = Identity::current();
    assert_eq!(Identity::resolve(None, None).unwrap(), current);
    let root_group = Identity::resolve(None, Some("root")).unwrap();
    assert_eq!(
        root_group,
        Identity {
            uid: current.uid,
            gid: 0
        }
    );
    assert!(root.to_string().starts_with("root (uid 0"), "{root}");
}

#[test]
fn unknown_names_are_errors_that_name_them() {
    let error = Identity::resolve(Some("no-such-user-gyre"), None).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    assert!(error.to_string().contains("no-such-user-gyre"), "{error}");
    let error = Identity::resolve(None, Some("no-such-group-gyre")).unwrap_err();
    assert!(error.to_string().contains("no-such-group-gyre"), "{error}");
}

#[test]
fn detaching_a_multithreaded_process_is_refused() {
    // The test harness runs tests on threads; make sure there is another.
    let (stop, wait) = std::sync::mpsc::channel::<()>();
    let helper = std::thread::spawn(move || wait.recv().is_err());
    let error = match daemon::detach() {
        Ok(_) => panic!("forked a multithreaded process"),
        Err(error) => error,
    };
    assert!(error.to_string().contains("threads"), "{error}");
    drop(stop);
    helper.join().unwrap();
}

#[test]
fn a_user_number_takes_its_group_from_the_database_or_needs_one_given() {
    // 65534 is nobody on Debian: its group comes from its entry.
    let nobody = Identity::resolve(Some("65534"), None).unwrap();
    assert_eq!(nobody, Identity::resolve(Some("nobody"), None).unwrap());
    // A number with no entry must not keep the caller's (root's) group.
    let error = Identity::resolve(Some("4242"), None).unwrap_err();
    assert!(error.to_string().contains("give a group"), "{error}");
}
