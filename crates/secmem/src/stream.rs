//! `Stream`: a large secret kept as a queue of sealed chunks.

use std::collections::VecDeque;
use std::io::{Read, Write};

use crate::buffer::LockedBuffer;
use crate::enclave::Enclave;
use crate::error::Error;

/// Bytes per sealed chunk: large enough to amortise a guarded allocation, small enough that
/// only this much plaintext is ever open at once.
pub const CHUNK: usize = 64 * 1024;

/// A first-in first-out stream of secret bytes, encrypted in chunks of [`CHUNK`] bytes.
///
/// Writes fill a locked chunk and seal it when full; reads open one chunk at a time. Reading
/// into an ordinary buffer puts plaintext there: use [`Stream::next_chunk`] or
/// [`Stream::flatten`] to stay in locked memory.
#[derive(Default)]
pub struct Stream {
    sealed: VecDeque<Enclave>,
    sealed_len: usize,
    /// The chunk being written and its fill.
    tail: Option<(LockedBuffer, usize)>,
    /// The chunk being read and the read position.
    head: Option<(LockedBuffer, usize)>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stream({} bytes)", self.len())
    }
}

fn io(e: Error) -> std::io::Error {
    std::io::Error::other(e)
}

impl Stream {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes not yet read.
    pub fn len(&self) -> usize {
        let head = self.head.as_ref().map_or(0, |(b, pos)| b.len() - pos);
        let tail = self.tail.as_ref().map_or(0, |(_, n)| *n);
        head + self.sealed_len + tail
    }

    /// Whether nothing is left to read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Seals the partly written chunk, if any.
    fn seal_tail(&mut self) -> Result<(), Error> {
        if let Some((buf, n)) = self.tail.take() {
            if n > 0 {
                let enclave = Enclave::seal_slice(&buf.bytes()[..n])?;
                self.sealed_len += n;
                self.sealed.push_back(enclave);
            }
        }
        Ok(())
    }

    /// The next unread bytes as a locked buffer (at most one chunk), or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<LockedBuffer>, Error> {
        if let Some((buf, pos)) = self.head.take() {
            if pos == 0 {
                return Ok(Some(buf));
            }
            if pos < buf.len() {
                let mut rest = LockedBuffer::new(buf.len() - pos)?;
                rest.copy_from(&buf.bytes()[pos..])?;
                return Ok(Some(rest));
            }
        }
        if self.sealed.is_empty() {
            self.seal_tail()?;
        }
        match self.sealed.pop_front() {
            Some(enclave) => {
                self.sealed_len -= enclave.len();
                enclave.open().map(Some)
            }
            None => Ok(None),
        }
    }

    /// Everything unread, in one locked buffer.
    pub fn flatten(&mut self) -> Result<LockedBuffer, Error> {
        let mut out = LockedBuffer::new(self.len())?;
        let mut at = 0;
        while let Some(chunk) = self.next_chunk()? {
            out.copy_at(at, &chunk.bytes())?;
            at += chunk.len();
        }
        Ok(out)
    }
}

impl Write for Stream {
    fn write(&mut self, mut data: &[u8]) -> std::io::Result<usize> {
        let written = data.len();
        while !data.is_empty() {
            if self.tail.is_none() {
                self.tail = Some((LockedBuffer::new(CHUNK).map_err(io)?, 0));
            }
            let Some((buf, n)) = self.tail.as_mut() else {
                break;
            };
            let take = data.len().min(CHUNK - *n);
            buf.copy_at(*n, &data[..take]).map_err(io)?;
            *n += take;
            data = &data[take..];
            if *n == CHUNK {
                self.seal_tail().map_err(io)?;
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.seal_tail().map_err(io)
    }
}

impl Read for Stream {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some((buf, pos)) = self.head.as_mut() {
                let bytes = buf.bytes();
                if *pos < bytes.len() {
                    let n = out.len().min(bytes.len() - *pos);
                    out[..n].copy_from_slice(&bytes[*pos..*pos + n]);
                    *pos += n;
                    return Ok(n);
                }
            }
            match self.next_chunk().map_err(io)? {
                Some(chunk) => self.head = Some((chunk, 0)),
                None => return Ok(0),
            }
        }
    }
}
