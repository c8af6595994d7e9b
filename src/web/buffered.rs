//! Reading a response's body into memory for a layer that needs all of it
//! (an ETag, the page cache, a reader's marks), without ever turning a
//! good response into an error.
//!
//! A body whose length is known is already whole in memory (every page,
//! feed and sitemap is rendered into one string), so it is taken whatever
//! its size: a bound there would only refuse what is already paid for. A
//! body of unknown length (a stream) is read up to a bound; past it, the
//! layer gets back a body that sends what was read and then the rest.

use axum::body::{Body, Bytes, to_bytes};
use futures_util::StreamExt;
use http_body::Body as _;

/// The whole of `body`, or, for a stream longer than `stream_limit`, the
/// same stream back (nothing of it lost) to pass on as it is.
pub async fn whole(body: Body, stream_limit: usize) -> Result<Bytes, Body> {
    if body.size_hint().exact().is_some() {
        // A body in memory cannot fail to be read; if one ever did, the
        // client would get it cut short, as it would without this layer.
        return to_bytes(body, usize::MAX).await.map_err(|_| Body::empty());
    }
    let mut stream = body.into_data_stream();
    let mut read = Vec::new();
    let mut length = 0;
    while length <= stream_limit {
        match stream.next().await {
            None => return Ok(Bytes::from(read.concat())),
            Some(Ok(piece)) => {
                length += piece.len();
                read.push(piece);
            }
            Some(Err(err)) => {
                let read = read.into_iter().map(Ok).chain([Err(err)]);
                return Err(Body::from_stream(futures_util::stream::iter(read)));
            }
        }
    }
    let read = futures_util::stream::iter(read.into_iter().map(Ok));
    Err(Body::from_stream(read.chain(stream)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(pieces: &[&'static str]) -> Body {
        let pieces: Vec<Result<Bytes, std::io::Error>> =
            pieces.iter().map(|p| Ok(Bytes::from_static(p.as_bytes()))).collect();
        Body::from_stream(futures_util::stream::iter(pieces))
    }

    #[tokio::test]
    async fn a_body_in_memory_is_taken_whole_whatever_its_size() {
        let big = "x".repeat(100);
        let bytes = whole(Body::from(big.clone()), 10).await.ok().unwrap();
        assert_eq!(bytes, big.as_bytes());
    }

    #[tokio::test]
    async fn a_short_stream_is_read_and_a_long_one_given_back_whole() {
        let bytes = whole(stream(&["ab", "cd"]), 10).await.ok().unwrap();
        assert_eq!(&bytes[..], b"abcd");
        let Err(back) = whole(stream(&["abcd", "efgh", "ijkl", "mnop"]), 6).await else {
            panic!("a stream past the limit is given back");
        };
        let all = to_bytes(back, usize::MAX).await.unwrap();
        assert_eq!(&all[..], b"abcdefghijklmnop");
    }
}
