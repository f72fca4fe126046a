//! `depsurf serve`: pages rendered on request and the JSON API, on loopback.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;

fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn pages_and_api_on_loopback() {
    let mut c = depsurf();
    c.env_remove("DEPSURF_DATASET")
        .args(["serve", "--port", "0"])
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let result = std::panic::catch_unwind(|| {
        let (status, body) = get(&addr, "/struct/task_struct.html");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.contains("<h1>Struct: <code>task_struct</code></h1>"));
        let (status, body) = get(&addr, "/api/search?q=task_struct");
        assert_eq!(status, "HTTP/1.1 200 OK");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v[0]["name"], "task_struct");
        assert_eq!(v[0]["url"], "/struct/task_struct.html");
        let (_, body) = get(&addr, "/api/syscall/openat");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["kind"], "syscall");
        let (status, _) = get(&addr, "/struct/no_such_struct.html");
        assert_eq!(status, "HTTP/1.1 404 Not Found");
        let (status, body) = get(&addr, "/lsm/index.html");
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.contains("<a href=\"file_open.html\">file_open</a>"));
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
