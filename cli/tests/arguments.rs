//! The built `warden` binary refuses what it does not understand before it reads any
//! configuration or calls AWS: exit status 2 and a message naming the bad argument.

use std::process::Command;

fn warden(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        // Nothing may be reached: no table is configured and the endpoint is a closed port.
        .env_remove("WARDEN_TABLE_NAME")
        .env_remove("WARDEN_TOPIC_ARN")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("the warden binary runs")
}

#[test]
fn an_unknown_flag_is_an_error_with_exit_status_2() {
    let out = warden(&[
        "exempt",
        "add",
        "--group",
        "sg-0123abcd",
        "--rul",
        "sgr-1",
        "--by",
        "a",
        "--reason",
        "b",
        "--for",
        "1d",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--rul"), "{stderr}");
    assert!(stderr.contains("--rule"), "a suggestion of the flag meant: {stderr}");
    assert!(!stderr.contains("WARDEN_TABLE_NAME"), "refused before the configuration is read: {stderr}");
}

#[test]
fn help_lists_every_command_and_exits_0() {
    let out = warden(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["show", "undo", "exempt", "incident", "release", "registry", "report", "suspension"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[test]
fn a_valid_command_without_configuration_says_what_to_set() {
    let out = warden(&["exempt", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("WARDEN_TABLE_NAME"), "{stderr}");
}
