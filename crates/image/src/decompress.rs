//! Decompression of every format kernels and packages use, with limits: a cap on the output
//! size and on the expansion ratio, so a decompression bomb is an error, not a full disk.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Problem;

/// A compression format, recognised by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    /// The legacy LZ4 format the kernel's `lz4 -l` build step writes.
    Lz4Legacy,
    Lz4Frame,
    /// The legacy `.lzma` ("LZMA alone") format.
    Lzma,
    Lzo,
}

/// Most memory an xz or lzma stream may ask for (mostly its dictionary). Kernels and Debian
/// packages use 8–64 MiB dictionaries; xz's own highest preset uses 64 MiB.
pub const LZMA_MEMLIMIT: u64 = 256 << 20;

impl Compression {
    pub const ALL: [Compression; 8] = [
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
        Compression::Bzip2,
        Compression::Lz4Legacy,
        Compression::Lz4Frame,
        Compression::Lzma,
        Compression::Lzo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Lz4Legacy => "lz4 (legacy)",
            Compression::Lz4Frame => "lz4",
            Compression::Lzma => "lzma",
            Compression::Lzo => "lzo",
        }
    }

    fn magic(self) -> &'static [u8] {
        match self {
            Compression::Gzip => &[0x1f, 0x8b, 0x08],
            Compression::Xz => b"\xfd7zXZ\x00",
            Compression::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
            Compression::Bzip2 => b"BZh",
            Compression::Lz4Legacy => &[0x02, 0x21, 0x4c, 0x18],
            Compression::Lz4Frame => &[0x04, 0x22, 0x4d, 0x18],
            Compression::Lzma => &[0x5d, 0x00, 0x00],
            Compression::Lzo => b"\x89LZO\x00\r\n\x1a\n",
        }
    }

    /// Whether `data` plausibly starts a stream of this format (magic plus header checks).
    pub fn starts(self, data: &[u8]) -> bool {
        if !data.starts_with(self.magic()) {
            return false;
        }
        match self {
            Compression::Bzip2 => data.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)),
            Compression::Lzma => {
                // props 0x5d, then a dictionary size that is a power of two (4 KiB..1 GiB).
                let Some(d) = data.get(1..5) else {
                    return false;
                };
                let dict = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                dict.is_power_of_two() && (1 << 12..=1 << 30).contains(&dict)
            }
            _ => true,
        }
    }

    /// The format `head` starts with, if any.
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.starts(head))
    }

    /// Every offset in `data` where a stream plausibly starts, in order of offset. Used to
    /// find the payload inside boot images whose header does not say where it is.
    pub fn find_all(data: &[u8]) -> Vec<(usize, Compression)> {
        let mut found = Vec::new();
        for c in Compression::ALL {
            let magic = c.magic();
            for pos in memchr::memmem::find_iter(data, &magic[..magic.len().min(4)]) {
                if c.starts(&data[pos..]) {
                    found.push((pos, c));
                }
            }
        }
        found.sort_by_key(|&(pos, c)| (pos, c as u8));
        found
    }
}

/// Caps applied while decompressing untrusted data.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most bytes one decompressed stream may produce.
    pub max_output: u64,
    /// Largest expansion (output / input) tolerated once `ratio_after` bytes are out.
    pub max_ratio: u64,
    pub ratio_after: u64,
}

impl Limits {
    /// For a boot image payload (a kernel is well under 1 GiB).
    pub const PAYLOAD: Limits = Limits {
        max_output: 1 << 30,
        max_ratio: 200,
        ratio_after: 64 << 20,
    };
    /// For a package's data archive, streamed, never held whole.
    pub const PACKAGE: Limits = Limits {
        max_output: 64 << 30,
        max_ratio: 200,
        ratio_after: 64 << 20,
    };
}

/// Counts bytes read through it into a shared counter.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A decompressing reader that enforces [`Limits`]. Limit violations surface as
/// `io::Error`s wrapping a [`Problem`]; [`problem_from_io`] recovers it.
pub struct Decoder<'a> {
    inner: Box<dyn Read + Send + 'a>,
    format: Compression,
    consumed: Arc<AtomicU64>,
    produced: u64,
    limits: Limits,
}

#[derive(Debug)]
struct LimitError(Problem);

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LimitError {}

/// Reads into `buf` until it is full or the input ends; returns how much was read.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Turns an I/O error from a [`Decoder`] back into the problem it reports.
pub fn problem_from_io(e: io::Error, format: Compression) -> Problem {
    if e.get_ref().is_some_and(|inner| inner.is::<LimitError>()) {
        let inner = e.into_inner().expect("checked above");
        match inner.downcast::<LimitError>() {
            Ok(le) => return le.0,
            Err(other) => return Problem::Io(io::Error::other(other)),
        }
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Problem::Corrupt {
            format: format.name(),
            message: "the compressed stream ends early (truncated?)".into(),
        },
        _ if matches!(format, Compression::Xz | Compression::Lzma)
            && e.get_ref()
                .and_then(|i| i.downcast_ref::<liblzma::stream::Error>())
                .is_some_and(|le| matches!(le, liblzma::stream::Error::MemLimit)) =>
        {
            Problem::Invalid(format!(
                "{} data needs more than {} MiB of memory to decompress (a larger dictionary \
                 than any kernel or package uses): refused",
                format.name(),
                LZMA_MEMLIMIT >> 20
            ))
        }
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::Other => {
            Problem::Corrupt {
                format: format.name(),
                message: e.to_string(),
            }
        }
        _ => Problem::Io(e),
    }
}

impl<'a> Decoder<'a> {
    /// Wraps `input` (positioned at the start of a stream of `format`).
    pub fn new<R: Read + Send + 'a>(
        input: R,
        format: Compression,
        limits: Limits,
        parallel: bool,
    ) -> Result<Decoder<'a>, Problem> {
        let consumed = Arc::new(AtomicU64::new(0));
        let input = Counting {
            inner: input,
            count: consumed.clone(),
        };
        let inner: Box<dyn Read + Send + 'a> = match format {
            Compression::Gzip => Box::new(flate2::read::GzDecoder::new(input)),
            Compression::Xz | Compression::Lzma => {
                let lzma_err = |e: liblzma::stream::Error| Problem::Corrupt {
                    format: format.name(),
                    message: e.to_string(),
                };
                // The dictionary size comes from the stream's header: without a limit a few
                // bytes can make the decoder allocate gigabytes.
                let stream = match format {
                    Compression::Lzma => liblzma::stream::Stream::new_lzma_decoder(LZMA_MEMLIMIT)
                        .map_err(lzma_err)?,
                    _ if parallel => liblzma::stream::MtStreamBuilder::new()
                        .memlimit_stop(LZMA_MEMLIMIT)
                        .memlimit_threading(LZMA_MEMLIMIT)
                        .threads(std::thread::available_parallelism().map_or(1, |n| n.get()) as u32)
                        .decoder()
                        .map_err(lzma_err)?,
                    // One stream: boot images carry other data after it.
                    _ => liblzma::stream::Stream::new_stream_decoder(LZMA_MEMLIMIT, 0)
                        .map_err(lzma_err)?,
                };
                Box::new(liblzma::read::XzDecoder::new_stream(input, stream))
            }
            Compression::Zstd => {
                let mut d = zstd::stream::read::Decoder::new(input)?.single_frame();
                d.window_log_max(28)?;
                Box::new(d)
            }
            Compression::Bzip2 => Box::new(bzip2::read::BzDecoder::new(input)),
            Compression::Lz4Frame => Box::new(lz4_flex::frame::FrameDecoder::new(input)),
            Compression::Lz4Legacy => Box::new(Lz4Legacy::new(input)),
            Compression::Lzo => {
                return Err(Problem::Unsupported(
                    "lzo-compressed kernels are not supported; decompress with lzop first".into(),
                ));
            }
        };
        Ok(Decoder {
            inner,
            format,
            consumed,
            produced: 0,
            limits,
        })
    }

    pub fn format(&self) -> Compression {
        self.format
    }

    /// Compressed bytes consumed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    fn check(&self) -> io::Result<()> {
        let out = self.produced;
        if out > self.limits.max_output {
            return Err(io::Error::other(LimitError(Problem::TooLarge {
                format: self.format.name(),
                limit: self.limits.max_output,
            })));
        }
        if out > self.limits.ratio_after {
            let input = self.consumed().max(1);
            if out / input > self.limits.max_ratio {
                return Err(io::Error::other(LimitError(Problem::Bomb {
                    format: self.format.name(),
                    input,
                    output: out,
                    ratio: out / input,
                })));
            }
        }
        Ok(())
    }
}

impl Read for Decoder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Never hand out more than the cap allows, so a bomb cannot overshoot by a buffer.
        let room = self.limits.max_output.saturating_sub(self.produced) + 1;
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.produced += n as u64;
        self.check()?;
        Ok(n)
    }
}

/// Decompresses a whole in-memory stream.
pub fn decompress(data: &[u8], format: Compression, limits: Limits) -> Result<Vec<u8>, Problem> {
    let mut d = Decoder::new(data, format, limits, false)?;
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(256 << 20));
    d.read_to_end(&mut out)
        .map_err(|e| problem_from_io(e, format))?;
    Ok(out)
}

/// The kernel's legacy LZ4 framing: a magic number, then blocks of `u32` little-endian
/// compressed length and data, each decompressing to at most 8 MiB. Another magic number
/// may start a new chunk; anything else (or the end) ends the stream.
struct Lz4Legacy<R> {
    input: R,
    started: bool,
    done: bool,
    block: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
}

const LZ4_LEGACY_MAGIC: u32 = 0x184c_2102;
const LZ4_LEGACY_BLOCK: usize = 8 << 20;

impl<R: Read> Lz4Legacy<R> {
    fn new(input: R) -> Self {
        Lz4Legacy {
            input,
            started: false,
            done: false,
            block: Vec::new(),
            out: Vec::new(),
            pos: 0,
        }
    }

    /// Reads a little-endian u32, or `None` at a clean end of input.
    fn word(&mut self) -> io::Result<Option<u32>> {
        let mut b = [0u8; 4];
        match read_full(&mut self.input, &mut b)? {
            0 => Ok(None),
            4 => Ok(Some(u32::from_le_bytes(b))),
            _ => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }

    fn next_block(&mut self) -> io::Result<bool> {
        if !self.started {
            self.started = true;
            if self.word()? != Some(LZ4_LEGACY_MAGIC) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad lz4 legacy magic",
                ));
            }
        }
        loop {
            let Some(len) = self.word()? else {
                return Ok(false);
            };
            if len == LZ4_LEGACY_MAGIC {
                continue;
            }
            // The compressed form of an 8 MiB block is at most slightly larger than 8 MiB;
            // anything else is not a block (the kernel appends the decompressed size).
            if len as usize > LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK / 255 + 16 {
                return Ok(false);
            }
            self.block.resize(len as usize, 0);
            let got = read_full(&mut self.input, &mut self.block)?;
            if got == 0 {
                // The last word was the decompressed-size trailer the kernel appends.
                return Ok(false);
            }
            if got < self.block.len() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.out.resize(LZ4_LEGACY_BLOCK, 0);
            let n = lz4_flex::block::decompress_into(&self.block, &mut self.out)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            self.out.truncate(n);
            self.pos = 0;
            return Ok(true);
        }
    }
}

impl<R: Read> Read for Lz4Legacy<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.out.len() {
            if self.done || !self.next_block()? {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Gzip for tests that need compressed inputs.
#[cfg(test)]
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trips() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let xz = {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let zst = zstd::encode_all(&data[..], 3).unwrap();
        let bz = {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        let lz4 = {
            let mut out = LZ4_LEGACY_MAGIC.to_le_bytes().to_vec();
            for chunk in data.chunks(LZ4_LEGACY_BLOCK) {
                let c = lz4_flex::block::compress(chunk);
                out.extend_from_slice(&(c.len() as u32).to_le_bytes());
                out.extend_from_slice(&c);
            }
            out.extend_from_slice(&(data.len() as u32).to_le_bytes()); // kernel size trailer
            out
        };
        // A boot image keeps other data after its payload (s390x: tables, signatures): the
        // decoder stops at the end of the stream.
        let mut xz_then_data = xz.clone();
        xz_then_data.extend_from_slice(b"\x01\x02 trailing boot-image data");
        assert_eq!(
            decompress(&xz_then_data, Compression::Xz, Limits::PAYLOAD).unwrap(),
            data
        );
        for (c, blob) in [
            (Compression::Gzip, gzip(&data)),
            (Compression::Xz, xz),
            (Compression::Zstd, zst),
            (Compression::Bzip2, bz),
            (Compression::Lz4Legacy, lz4),
        ] {
            assert_eq!(Compression::sniff(&blob), Some(c));
            assert_eq!(
                decompress(&blob, c, Limits::PAYLOAD).unwrap(),
                data,
                "{c:?}"
            );
            // Every truncation is an error or a shorter output, never a panic.
            for cut in [1, blob.len() / 2, blob.len() - 1] {
                if let Ok(out) = decompress(&blob[..cut], c, Limits::PAYLOAD) {
                    assert!(out.len() < data.len(), "{c:?} cut at {cut}");
                }
            }
        }
    }

    #[test]
    fn bombs_and_caps_are_errors() {
        let zeros = vec![0u8; 80 << 20];
        let bomb = zstd::encode_all(&zeros[..], 3).unwrap();
        let err = decompress(&bomb, Compression::Zstd, Limits::PAYLOAD).unwrap_err();
        assert!(matches!(err, Problem::Bomb { .. }), "{err}");
        let small = Limits {
            max_output: 1000,
            max_ratio: u64::MAX,
            ratio_after: u64::MAX,
        };
        let err = decompress(&gzip(&[7u8; 5000]), Compression::Gzip, small).unwrap_err();
        assert!(
            matches!(err, Problem::TooLarge { limit: 1000, .. }),
            "{err}"
        );
    }

    #[test]
    fn finds_streams_inside_data() {
        let mut blob = b"some boot code here".to_vec();
        let at = blob.len();
        blob.extend_from_slice(&gzip(b"payload"));
        let found = Compression::find_all(&blob);
        assert_eq!(found, [(at, Compression::Gzip)]);
    }
}
