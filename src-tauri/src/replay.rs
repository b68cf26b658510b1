//! The `replay` protocol: the results page fetches a past interview's audio
//! through the app itself (`replay://localhost/<interview id>%2F<file>`, on
//! Windows `http://replay.localhost/…`, as Tauri's `convertFileSrc` makes
//! it), so the window's CSP names only the app's own scheme and never a
//! loopback port. (The page plays it from a Blob: WebKitGTK's media player
//! cannot load from a custom scheme, WebKit bug 146351.) The shell fetches
//! the file from the backend the interview ran on, with the signed-in
//! user's token, and passes a `Range` on and a 206/416 back.

use std::sync::Arc;

use tauri::http::{Request, Response, StatusCode, header};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

use crate::AppState;

/// The protocol's scheme.
pub const SCHEME: &str = "replay";

/// Answers one request of the web view's media player.
pub fn handle<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let Some((interview_id, file)) = parse(request.uri().path()) else {
        responder.respond(refusal(StatusCode::NOT_FOUND, "No such recording."));
        return;
    };
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // The page's origin (`tauri://localhost`, on Windows
    // `http://tauri.localhost`) is not this scheme's: its fetch needs CORS.
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .filter(|o| is_app_origin(o.as_bytes()))
        .cloned();
    let state = ctx.app_handle().state::<Arc<AppState>>().inner().clone();
    tauri::async_runtime::spawn(async move {
        let mut response = match state
            .replay_audio(&interview_id, &file, range.as_deref())
            .await
        {
            Ok(part) => audio(part),
            Err(message) => {
                tracing::warn!(%interview_id, %file, "replay failed: {message}");
                refusal(StatusCode::NOT_FOUND, &message)
            }
        };
        if let Some(origin) = origin {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                header::HeaderValue::from_static("content-range, accept-ranges"),
            );
        }
        responder.respond(response);
    });
}

/// `/<interview id>/<file>` (the slash may come percent-encoded): an id of
/// letters, digits and dashes, and one of the files replay serves
/// (`interview.ogg`, `answer-NN.ogg`).
fn parse(path: &str) -> Option<(String, String)> {
    let path = percent_decode(path)?;
    let mut parts = path.trim_start_matches('/').split('/');
    let (id, file) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let id_ok =
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let file_ok = file == "interview.ogg"
        || file
            .strip_prefix("answer-")
            .and_then(|rest| rest.strip_suffix(".ogg"))
            .is_some_and(|n| (2..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    (id_ok && file_ok).then(|| (id.to_owned(), file.to_owned()))
}

/// The app's own pages: the only origin given the recordings.
fn is_app_origin(origin: &[u8]) -> bool {
    matches!(
        origin,
        b"tauri://localhost" | b"http://tauri.localhost" | b"https://tauri.localhost"
    )
}

/// `%XX` escapes decoded; `None` for a broken escape or a result that is
/// not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn audio(part: candor_client::api::AudioPart) -> Response<Vec<u8>> {
    let status = StatusCode::from_u16(part.status).unwrap_or(StatusCode::OK);
    let mut response = Response::builder()
        .status(status)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::CONTENT_LENGTH, part.body.len());
    if status != StatusCode::RANGE_NOT_SATISFIABLE {
        response = response.header(
            header::CONTENT_TYPE,
            part.content_type.as_deref().unwrap_or("audio/ogg"),
        );
    }
    if let Some(range) = &part.content_range {
        response = response.header(header::CONTENT_RANGE, range);
    }
    response
        .body(part.body)
        .unwrap_or_else(|_| refusal(StatusCode::BAD_GATEWAY, "Unusable audio."))
}

fn refusal(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(message.as_bytes().to_vec());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::{is_app_origin, parse};

    #[test]
    fn only_the_apps_own_pages_may_read_a_recording() {
        assert!(is_app_origin(b"tauri://localhost"));
        assert!(is_app_origin(b"http://tauri.localhost"));
        assert!(!is_app_origin(b"http://127.0.0.1:1420"));
        assert!(!is_app_origin(b"null"));
    }

    #[test]
    fn only_an_interview_id_and_a_replay_file_are_accepted() {
        let ok = |p: &str| parse(p).map(|(id, f)| format!("{id} {f}"));
        assert_eq!(
            ok("/3f2a-9c/interview.ogg").as_deref(),
            Some("3f2a-9c interview.ogg")
        );
        assert_eq!(
            ok("/abc/answer-01.ogg").as_deref(),
            Some("abc answer-01.ogg")
        );
        assert_eq!(
            ok("/abc/answer-123.ogg").as_deref(),
            Some("abc answer-123.ogg")
        );
        for bad in [
            "/",
            "/abc",
            "/abc/",
            "/abc/report.html",
            "/abc/answer-1.ogg",
            "/abc/answer-xx.ogg",
            "/abc/interview.ogg/more",
            "/../interview.ogg",
            "/a%2Fb/interview.ogg",
            "/a b/interview.ogg",
            "/abc%2F..%2Finterview.ogg",
            "/abc%2",
            "/abc%zz/interview.ogg",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
