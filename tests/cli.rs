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
