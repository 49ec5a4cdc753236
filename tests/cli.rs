//! The `viva` binary as an operator runs it: the README's own examples.

use std::process::Command;

fn viva(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_viva"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("VIVA_DATA_DIR", dir);
    cmd
}

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
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    // The README's run command, from a directory that is not the repository.
    let mut child = viva(data.path())
        .current_dir(elsewhere.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut using = None;
    let addr = loop {
        let line = lines.next().expect("viva exited before listening").unwrap();
        if line.contains(" using ") {
            using = Some(line.clone());
        }
        if let Some(rest) = line
            .split("addr=")
            .nth(1)
            .filter(|_| line.contains("viva listening"))
        {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let page = reqwest::get(format!("http://{addr}/interview/{}", uuid::Uuid::new_v4()))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("/candidate/candidate.js"));
    let script = reqwest::get(format!("http://{addr}/candidate/candidate.js"))
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    // The start-up log names the absolute data dir and database, and where the pages come from.
    let using = using.expect("a start-up line naming what the server uses");
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
