//! cairn-secmem against libsodium doing the same work: a guarded allocation of 32 bytes, and
//! sealing a secret held in guarded memory then opening it into fresh guarded memory
//! (`sodium_malloc` + `crypto_secretbox_easy` / `crypto_secretbox_open_easy` + `sodium_free`).
//! Needs libsodium (`apt-get install libsodium-dev`); `scripts/bench-secmem` installs it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::ffi::{c_int, c_void};
use std::hint::black_box;

use cairn_secmem::LockedBuffer;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const NONCE: usize = 24;
const KEY: usize = 32;
const MAC: usize = 16;

#[link(name = "sodium")]
unsafe extern "C" {
    fn sodium_init() -> c_int;
    fn sodium_malloc(size: usize) -> *mut c_void;
    fn sodium_free(ptr: *mut c_void);
    fn randombytes_buf(buf: *mut c_void, size: usize);
    fn crypto_secretbox_easy(
        c: *mut u8,
        m: *const u8,
        mlen: u64,
        n: *const u8,
        k: *const u8,
    ) -> c_int;
    fn crypto_secretbox_open_easy(
        m: *mut u8,
        c: *const u8,
        clen: u64,
        n: *const u8,
        k: *const u8,
    ) -> c_int;
}

/// libsodium's version of a sealed secret kept between uses.
struct SodiumBox {
    key: *mut u8,
}

impl SodiumBox {
    fn new() -> Self {
        // SAFETY: plain libsodium calls on memory it hands out.
        unsafe {
            assert!(sodium_init() >= 0);
            let key = sodium_malloc(KEY).cast::<u8>();
            randombytes_buf(key.cast(), KEY);
            SodiumBox { key }
        }
    }

    /// Seals the guarded `plain` (freeing it), then opens into a new guarded buffer.
    fn seal_open(&self, plain: *mut u8, len: usize) -> *mut u8 {
        // SAFETY: `plain` is a live sodium_malloc buffer of `len` bytes.
        unsafe {
            let mut sealed = vec![0u8; NONCE + MAC + len];
            let (nonce, c) = sealed.split_at_mut(NONCE);
            randombytes_buf(nonce.as_mut_ptr().cast(), NONCE);
            crypto_secretbox_easy(c.as_mut_ptr(), plain, len as u64, nonce.as_ptr(), self.key);
            sodium_free(plain.cast());
            let out = sodium_malloc(len).cast::<u8>();
            let rc = crypto_secretbox_open_easy(
                out,
                c.as_ptr(),
                (MAC + len) as u64,
                nonce.as_ptr(),
                self.key,
            );
            assert_eq!(rc, 0);
            out
        }
    }
}

fn alloc_free(c: &mut Criterion) {
    if std::env::var_os("SECMEM_BENCH_ANONYMOUS").is_some() {
        cairn_secmem::prefer_anonymous();
    }
    let mut g = c.benchmark_group("alloc+free 32 B");
    g.bench_function("cairn-secmem LockedBuffer", |b| {
        b.iter(|| drop(black_box(LockedBuffer::new(32).unwrap())))
    });
    let _init = SodiumBox::new();
    g.bench_function("libsodium sodium_malloc", |b| {
        // SAFETY: allocate and free at once.
        b.iter(|| unsafe { sodium_free(black_box(sodium_malloc(32))) })
    });
    g.finish();
}

fn seal_open(c: &mut Criterion) {
    let sodium = SodiumBox::new();
    for (name, len) in [("32 B", 32usize), ("1 MiB", 1 << 20)] {
        let mut g = c.benchmark_group(format!("seal+open {name}"));
        g.throughput(Throughput::Bytes(len as u64));
        if len > 4096 {
            g.sample_size(30);
        }
        let mut secret = Some(LockedBuffer::random(len).unwrap());
        g.bench_function("cairn-secmem Enclave", |b| {
            b.iter(|| {
                let enclave = secret.take().unwrap().seal().unwrap();
                secret = Some(enclave.open().unwrap());
            })
        });
        // SAFETY: a live guarded buffer threaded through the loop.
        let mut plain = unsafe {
            let p = sodium_malloc(len).cast::<u8>();
            randombytes_buf(p.cast(), len);
            p
        };
        g.bench_function("libsodium secretbox", |b| {
            b.iter(|| plain = sodium.seal_open(plain, len))
        });
        // SAFETY: the last buffer of the loop.
        unsafe { sodium_free(plain.cast()) };
        g.finish();
    }
}

criterion_group!(benches, alloc_free, seal_open);
criterion_main!(benches);
