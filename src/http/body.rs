//! `Body`: the body of every response — whole (JSON, text; sent with a `content-length`) or a
//! stream of chunks (`trace client`; chunked on HTTP/1.1).

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt as _};
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};

/// A response body. Build a whole one with `Body::from(bytes)` (or `Full::new(bytes).into()`).
pub struct Body(Kind);

enum Kind {
    Whole(Full<Bytes>),
    Chunks(BoxStream<'static, Bytes>),
}

impl Body {
    /// A body sent chunk by chunk as `chunks` yields them; it ends when the stream does. When
    /// the client goes away the stream is dropped.
    pub fn stream(chunks: impl Stream<Item = Bytes> + Send + 'static) -> Self {
        Self(Kind::Chunks(chunks.boxed()))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().0 {
            Kind::Whole(full) => Pin::new(full).poll_frame(cx),
            Kind::Chunks(chunks) => chunks
                .poll_next_unpin(cx)
                .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Whole(full) => full.is_end_stream(),
            Kind::Chunks(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Whole(full) => full.size_hint(),
            Kind::Chunks(_) => SizeHint::default(),
        }
    }
}

impl From<Full<Bytes>> for Body {
    fn from(full: Full<Bytes>) -> Self {
        Self(Kind::Whole(full))
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Full::new(bytes).into()
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::from(bytes).into()
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Bytes::from_static(text.as_bytes()).into()
    }
}

impl Default for Body {
    fn default() -> Self {
        Bytes::new().into()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Whole(full) => f.debug_tuple("Body").field(full).finish(),
            Kind::Chunks(_) => f.write_str("Body(stream)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt as _;
    use hyper::body::Body as _;

    use super::*;

    #[tokio::test]
    async fn whole_bodies_keep_their_length() {
        let body = Body::from("{}");
        assert_eq!(body.size_hint().exact(), Some(2));
        let bytes = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&bytes[..], b"{}");
    }

    #[tokio::test]
    async fn streams_come_chunk_by_chunk() {
        let chunks = futures_util::stream::iter([Bytes::from("a\n"), Bytes::from("b\n")]);
        let mut body = Body::stream(chunks);
        assert_eq!(body.size_hint().exact(), None, "no content-length: chunked");
        let first = body.frame().await.expect("a frame").expect("infallible");
        assert_eq!(first.into_data().ok().as_deref(), Some(&b"a\n"[..]));
        let rest = body.collect().await.expect("infallible").to_bytes();
        assert_eq!(&rest[..], b"b\n");
    }
}
