//! Résumé upload over the real server, on SQLite and on Postgres with Redis: a PDF, a DOCX and a
//! text file become the candidate's résumé text; a damaged, encrypted, unknown or empty file is
//! a clear 422 and changes nothing; a file over 5 MiB is 413; another organization's candidate
//! is 404 and a viewer may not upload.

mod common;

use std::io::Write;

use common::api::{code, staff, Client};
use common::services::{Postgres, Redis};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use viva::accounts::Role;

/// A one-page PDF showing `text` in Helvetica, with a correct cross-reference table.
fn pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A DOCX (a zip with the WordprocessingML document part) of two paragraphs.
fn docx(first: &str, second: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("[Content_Types].xml", opts).unwrap();
    zip.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#).unwrap();
    zip.start_file("word/document.xml", opts).unwrap();
    let esc = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;");
    let (first, second) = (esc(first), esc(second));
    write!(
        zip,
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{first}</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">{second}</w:t></w:r></w:p></w:body></w:document>"#
    )
    .unwrap();
    zip.finish().unwrap().into_inner()
}

async fn upload(c: &Client, candidate: &str, bytes: Vec<u8>, name: &str) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let r = c
        .http
        .post(format!("{}/v1/candidates/{candidate}/resume", c.base))
        .bearer_auth(&c.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn resumes(server: &TestServer) {
    let admin = staff(server, "ada@acme.example", "Acme", Role::Admin).await;
    let viewer = staff(server, "vi@acme.example", "Acme", Role::Viewer).await;
    let other = staff(server, "bea@bee.example", "Bee", Role::Admin).await;
    let (s, grace) = admin
        .call(
            Method::POST,
            "/v1/candidates",
            Some(json!({"name": "Grace Hopper", "email": "grace@navy.example", "resume_text": "Typed by hand."})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = grace["id"].as_str().unwrap();

    let (s, v) = upload(
        &admin,
        id,
        pdf("Grace Hopper - COBOL and compilers"),
        "cv.pdf",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["resume"]["kind"], "pdf");
    assert!(
        v["candidate"]["resume_text"]
            .as_str()
            .unwrap()
            .contains("COBOL and compilers"),
        "{v}"
    );

    let (s, v) = upload(
        &admin,
        id,
        docx("Rear Admiral", "Harvard Mark I & UNIVAC"),
        "cv.docx",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["resume"]["kind"], "docx");
    assert_eq!(
        v["candidate"]["resume_text"],
        "Rear Admiral\nHarvard Mark I & UNIVAC"
    );

    let (s, v) = upload(&admin, id, "Plain résumé.\n".as_bytes().to_vec(), "cv.txt").await;
    assert_eq!(
        (s, v["resume"]["kind"].clone()),
        (StatusCode::OK, json!("text")),
        "{v}"
    );

    // Refusals change nothing.
    let mut truncated = pdf("Grace");
    truncated.truncate(truncated.len() / 2);
    for (bytes, says) in [
        (b"%PDF-1.7\n1 0 obj garbage".to_vec(), "could not be read"),
        (truncated, "could not be read"),
        (
            b"%PDF-1.4\ntrailer << /Encrypt 7 0 R /Root 1 0 R >>".to_vec(),
            "encrypted",
        ),
        (b"PK\x03\x04not a zip at all".to_vec(), "could not be read"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), "not a PDF"),
        (b" \n \n".to_vec(), "no text"),
    ] {
        let (s, err) = upload(&admin, id, bytes, "cv").await;
        assert_eq!(
            (s, code(&err)),
            (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
            "{err}"
        );
        assert!(
            err["error"]["message"].as_str().unwrap().contains(says),
            "{err}"
        );
    }
    let (s, err) = upload(&admin, id, vec![b'a'; 5 * 1024 * 1024 + 1], "big.txt").await;
    assert_eq!(
        (s, code(&err)),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
        "{err}"
    );
    let (_, now) = admin
        .call(Method::GET, &format!("/v1/candidates/{id}"), None)
        .await;
    assert_eq!(now["resume_text"], "Plain résumé.");

    let (s, _) = upload(&other, id, pdf("x"), "cv.pdf").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = upload(&viewer, id, pdf("x"), "cv.pdf").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = admin
        .http
        .post(format!("{}/v1/candidates/{id}/resume", admin.base))
        .bearer_auth(&admin.token)
        .json(&json!({"file": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_on_the_embedded_store() {
    let server = TestServer::start().await;
    resumes(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_on_postgres() {
    let (pg, redis) = (Postgres::start(), Redis::start());
    let server = TestServer::start_with(|c| use_services(c, &pg, &redis)).await;
    resumes(&server).await;
}
