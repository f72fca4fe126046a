//! `depsurf serve`: the website rendered page by page on request, and a JSON API.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use depsurf_site::Site;
use depsurf_surface::Kind;

use crate::dataset_cmd::DatasetArg;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    /// The port (0: any free one, printed when ready).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The address to listen on; loopback unless you choose otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
    Response {
        status: "200 OK",
        content_type,
        body: body.into(),
    }
}

fn not_found(what: &str) -> Response {
    Response {
        status: "404 Not Found",
        content_type: "text/plain; charset=utf-8",
        body: format!("not found: {what}\n").into_bytes(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(site: &Site<'_>, ds: &depsurf_surface::Dataset, target: &str) -> Result<Response> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = percent_decode(path);
    let html = "text/html; charset=utf-8";
    let json = "application/json";
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Ok(match parts.as_slice() {
        [""] | ["index.html"] => ok(html, site.home()?),
        ["dataset.html"] => ok(html, site.dataset_page(None)?),
        ["search.html"] => ok(html, site.search_page()?),
        ["search-index.js"] => ok("text/javascript", site.search_index_js()),
        ["search.js"] => ok("text/javascript", depsurf_site::SEARCH_JS),
        ["style.css"] => ok("text/css", depsurf_site::STYLE),
        ["api", "search"] => {
            let q = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("q="))
                .map(percent_decode)
                .unwrap_or_default();
            let hits: Vec<serde_json::Value> = site
                .search(&q, 200)
                .into_iter()
                .map(|(k, n, p)| serde_json::json!({"kind": k, "name": n, "url": format!("/{p}")}))
                .collect();
            ok(json, serde_json::to_vec_pretty(&hits)?)
        }
        ["api", kind, name] => match Kind::parse(kind) {
            Some(k) => match depsurf_report::build(ds, k, name) {
                Ok(r) => ok(json, serde_json::to_vec_pretty(&r)?),
                Err(e) => Response {
                    status: "404 Not Found",
                    content_type: json,
                    body: serde_json::to_vec(&serde_json::json!({"error": e.to_string()}))?,
                },
            },
            None => not_found(&path),
        },
        [kind, file] => match Kind::parse(kind).filter(|k| site.kinds().any(|x| x == *k)) {
            Some(k) if file.starts_with("index") => {
                match site.index_pages(k)?.into_iter().find(|(f, _)| f == file) {
                    Some((_, page)) => ok(html, page),
                    None => not_found(&path),
                }
            }
            Some(k) => match site.item_of_file(k, file) {
                Some(name) => ok(html, site.report(k, name)?),
                None => not_found(&path),
            },
            None => not_found(&path),
        },
        _ => not_found(&path),
    })
}

fn handle(site: &Site<'_>, ds: &depsurf_surface::Dataset, stream: TcpStream) -> Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // Headers are read and ignored.
    let mut h = String::new();
    while reader.read_line(&mut h)? > 2 {
        h.clear();
    }
    let mut it = line.split_whitespace();
    let (method, target) = (it.next().unwrap_or(""), it.next().unwrap_or("/"));
    let resp = if method != "GET" && method != "HEAD" {
        Response {
            status: "405 Method Not Allowed",
            content_type: "text/plain",
            body: b"only GET\n".to_vec(),
        }
    } else {
        route(site, ds, target).unwrap_or_else(|e| Response {
            status: "500 Internal Server Error",
            content_type: "text/plain; charset=utf-8",
            body: format!("{e:#}\n").into_bytes(),
        })
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    )?;
    if method != "HEAD" {
        out.write_all(&resp.body)?;
    }
    Ok(())
}

pub fn run(args: &ServeArgs) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    let site = Site::new(&ds, &[]).map_err(|e| anyhow!(e))?;
    let listener = TcpListener::bind((args.bind.as_str(), args.port))
        .with_context(|| format!("listening on {}:{}", args.bind, args.port))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "depsurf: serving the dataset {} on http://{addr}/",
        ds.manifest.name
    );
    std::thread::scope(|s| {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (site, ds) = (&site, &ds);
            s.spawn(move || {
                let _ = handle(site, ds, stream);
            });
        }
    });
    Ok(ExitCode::SUCCESS)
}
