//! The `viva` binary as an operator runs it: the README's own examples.

mod common;

use common::viva_embedded as viva;

#[test]
fn boolean_settings_take_the_usual_spellings() {
    let dir = tempfile::tempdir().unwrap();
    // The README: `VIVA_NO_MIGRATE=1` on the servers, `viva migrate` run separately.
    for value in [
        "1", "true", "yes", "on", "0", "false", "no", "off", "TRUE", "Yes",
    ] {
        let out = viva(dir.path())
            .arg("migrate")
            .env("VIVA_NO_MIGRATE", value)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "VIVA_NO_MIGRATE={value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = viva(dir.path())
        .arg("migrate")
        .env("VIVA_NO_MIGRATE", "maybe")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'maybe'"), "{err}");
    // The flag itself still works without a value.
    let out = viva(dir.path())
        .args(["migrate", "--no-migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn viva_serve_works_from_any_directory_and_says_what_it_uses() {
    let data = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // The README's run command, from a directory that is not the repository.
    let mut cmd = viva(data.path());
    cmd.current_dir(elsewhere.path())
        .args(["serve", "--bind", "127.0.0.1:0"]);
    let (mut child, addr, log) = common::spawn_serve_logged(cmd);
    let get = |path: String| {
        let url = format!("http://{addr}{path}");
        async move { reqwest::get(url).await.unwrap() }
    };
    let page = get(format!("/interview/{}", uuid::Uuid::new_v4())).await;
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("/candidate/candidate.js"));
    assert_eq!(get("/candidate/candidate.js".into()).await.status(), 200);
    // The start-up log names the absolute data dir and database, and where the pages come from.
    let using = log
        .iter()
        .find(|l| l.contains(" using "))
        .expect("a start-up line naming what the server uses");
    let data_dir = data.path().display().to_string();
    assert!(using.contains(&format!("data_dir={data_dir}")), "{using}");
    assert!(
        using.contains(&format!("database={data_dir}/viva.db")),
        "{using}"
    );
    assert!(using.contains("web_client="), "{using}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `viva admin create` with the password on standard input; what it prints or why it refused.
fn admin_create(
    dir: &std::path::Path,
    email: &str,
    org: &str,
    password: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut child = viva(dir)
        .args([
            "admin",
            "create",
            "--email",
            email,
            "--org",
            org,
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn admin_create_bootstraps_an_organization_and_refuses_what_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let out = admin_create(
        dir.path(),
        "ada@acme.example",
        "Acme",
        "Analytical Engine 1843",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["email"], "ada@acme.example");
    assert_eq!(first["role"], "admin");
    assert_eq!(first["organization"]["name"], "Acme");
    assert_eq!(first["organization"]["created"], true);
    assert!(first.get("password_hash").is_none());
    // A second admin of the same organization (its name in any case) joins it.
    let out = admin_create(
        dir.path(),
        "grace@acme.example",
        "ACME",
        "Compiler A-0 1952",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(second["organization"]["id"], first["organization"]["id"]);
    assert_eq!(second["organization"]["created"], false);
    // Refused, nothing created: a taken email, a weak password, no password flag.
    for (email, password, why) in [
        (
            "ADA@acme.example",
            "Analytical Engine 1843",
            "already exists",
        ),
        ("alan@acme.example", "short1", "at least 10 characters"),
        (
            "alan@acme.example",
            "alan@acme.example-1",
            "must not contain the email",
        ),
    ] {
        let out = admin_create(dir.path(), email, "Acme", password);
        assert!(!out.status.success(), "{email}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
        assert!(
            !err.contains(password),
            "the password is never echoed: {err}"
        );
    }
    let out = viva(dir.path())
        .args(["admin", "create", "--email", "x@y.example", "--org", "Acme"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin"));
}
