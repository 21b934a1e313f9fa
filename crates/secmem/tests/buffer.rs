#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! LockedBuffer and Enclave behaviour inside one process.

use std::io::{Cursor, Read, Write};

use cairn_secmem::{Enclave, Error, LockedBuffer, Stream};

#[test]
fn new_is_zeroed_and_random_is_not() {
    // Freed regions are pooled: a reused one must come back zeroed.
    drop(LockedBuffer::random(100).unwrap());
    let z = LockedBuffer::new(100).unwrap();
    assert_eq!(z.len(), 100);
    assert!(z.bytes().iter().all(|&b| b == 0));
    let a = LockedBuffer::random(32).unwrap();
    let b = LockedBuffer::random(32).unwrap();
    assert!(!a.ct_eq_buffer(&b), "two random keys collided");
    assert!(a.bytes().iter().any(|&x| x != 0));
}

#[test]
fn empty_is_refused() {
    assert!(matches!(LockedBuffer::new(0), Err(Error::Empty)));
    assert!(matches!(Enclave::from_bytes(&mut []), Err(Error::Empty)));
}

#[test]
fn from_bytes_wipes_the_source() {
    let mut src = *b"correct horse battery staple....";
    let b = LockedBuffer::from_bytes(&mut src).unwrap();
    assert_eq!(src, [0u8; 32]);
    assert!(b.ct_eq(b"correct horse battery staple...."));
    assert!(!b.ct_eq(b"correct horse battery staple...!"));
    assert!(!b.ct_eq(b"short"));
}

#[test]
fn readers_stop_at_the_limit_the_delimiter_and_eof() {
    let b = LockedBuffer::from_reader(&mut Cursor::new(b"abcdef"), 4).unwrap();
    assert!(b.ct_eq(b"abcd"));
    let b = LockedBuffer::from_reader(&mut Cursor::new(b"ab"), 4).unwrap();
    assert!(b.ct_eq(b"ab"));
    assert!(matches!(
        LockedBuffer::from_reader(&mut Cursor::new(b""), 4),
        Err(Error::Empty)
    ));

    let mut input = Cursor::new(b"passphrase\nrest".to_vec());
    let b = LockedBuffer::from_reader_until(&mut input, b'\n', 64).unwrap();
    assert!(b.ct_eq(b"passphrase"));
    let mut rest = String::new();
    input.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "rest", "nothing past the delimiter is consumed");
    let b = LockedBuffer::from_reader_until(&mut Cursor::new(b"no newline"), b'\n', 64).unwrap();
    assert!(b.ct_eq(b"no newline"));
    assert!(matches!(
        LockedBuffer::from_reader_until(&mut Cursor::new(b"too long line\n"), b'\n', 4),
        Err(Error::TooLarge { limit: 4 })
    ));

    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let b = LockedBuffer::from_reader_to_eof(&mut Cursor::new(&big), 1 << 20).unwrap();
    assert_eq!(&*b.bytes(), &big[..]);
    let b = LockedBuffer::from_reader_to_eof(&mut Cursor::new(&big), big.len()).unwrap();
    assert_eq!(b.len(), big.len());
    assert!(matches!(
        LockedBuffer::from_reader_to_eof(&mut Cursor::new(&big), big.len() - 1),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn a_failing_reader_is_an_error() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let err = LockedBuffer::from_reader_to_eof(&mut Broken, 10).unwrap_err();
    assert!(err.to_string().contains("disk on fire"), "{err}");
}

#[test]
fn freeze_refuses_writes_until_melted() {
    let mut b = LockedBuffer::new(8).unwrap();
    b.freeze().unwrap();
    assert!(b.is_frozen());
    assert!(matches!(b.bytes_mut(), Err(Error::Frozen)));
    assert!(matches!(b.copy_from(b"x"), Err(Error::Frozen)));
    assert_eq!(b.bytes().len(), 8, "a frozen buffer is still readable");
    b.melt().unwrap();
    b.copy_from(b"12345678").unwrap();
    assert!(b.ct_eq(b"12345678"));
}

#[test]
fn copy_move_wipe_scramble() {
    let mut b = LockedBuffer::new(8).unwrap();
    assert_eq!(b.copy_from(b"0123456789").unwrap(), 8);
    assert!(b.ct_eq(b"01234567"));
    b.copy_at(6, b"xy").unwrap();
    assert!(b.ct_eq(b"012345xy"));
    assert!(matches!(b.copy_at(7, b"xy"), Err(Error::Range { .. })));
    assert!(matches!(
        b.copy_at(usize::MAX, b"x"),
        Err(Error::Range { .. })
    ));
    let mut src = *b"abcd";
    assert_eq!(b.move_from(&mut src).unwrap(), 4);
    assert_eq!(src, [0; 4]);
    assert!(b.ct_eq(b"abcd45xy"));
    b.wipe().unwrap();
    assert!(b.ct_eq(&[0; 8]));
    b.scramble().unwrap();
    assert!(!b.ct_eq(&[0; 8]));
}

#[test]
fn typed_views_respect_alignment() {
    let mut b = LockedBuffer::new(32).unwrap();
    b.bytes_mut().unwrap().cast_mut::<u64>().unwrap()[3] = u64::MAX;
    assert_eq!(b.bytes().cast::<u64>().unwrap(), &[0, 0, 0, u64::MAX]);
    assert!(b.bytes().as_array::<32>().is_some());
    assert!(b.bytes().as_array::<31>().is_none());
    // 33 bytes end at a page boundary, so they start one byte past an 8-byte boundary.
    let odd = LockedBuffer::new(33).unwrap();
    assert!(odd.bytes().cast::<u64>().is_none());
}

#[test]
fn destroy_leaves_nothing_readable() {
    let b = LockedBuffer::random(32).unwrap();
    assert!(b.is_alive());
    b.destroy();
    let enclave = LockedBuffer::random(16).unwrap().seal().unwrap();
    assert_eq!(enclave.len(), 16);
}

#[test]
fn debug_never_shows_the_secret() {
    let mut src = *b"hunter2-hunter2-hunter2-hunter2!";
    let b = LockedBuffer::from_bytes(&mut src).unwrap();
    let shown = format!("{b:?}");
    assert_eq!(shown, "LockedBuffer(32 bytes)");
    let e = b.seal().unwrap();
    assert_eq!(format!("{e:?}"), "Enclave(32 bytes)");
}

#[test]
fn seal_open_round_trips_sizes() {
    for len in [1, 15, 16, 17, 32, 63, 64, 65, 4095, 4096, 4097, 1 << 20] {
        let mut b = LockedBuffer::new(len).unwrap();
        for (i, x) in b.bytes_mut().unwrap().iter_mut().enumerate() {
            *x = (i * 7 % 256) as u8;
        }
        let expect: Vec<u8> = b.bytes().to_vec();
        let e = b.seal().unwrap();
        let o = e.open().unwrap();
        assert_eq!(&*o.bytes(), &expect[..], "len {len}");
        // Opening twice works: the enclave is not consumed.
        assert_eq!(&*e.open().unwrap().bytes(), &expect[..]);
    }
}

#[test]
fn every_sealed_byte_is_authenticated() {
    let mut key = *b"0123456789abcdef0123456789abcdef";
    let enclave = Enclave::from_bytes(&mut key).unwrap();
    assert_eq!(key, [0; 32], "from_bytes wipes its source");
    let total = enclave.clone().sealed_bytes_mut().len();
    assert_eq!(total, 24 + 32 + 16);
    for i in 0..total {
        for bit in [0x01, 0x80] {
            let mut bad = enclave.clone();
            bad.sealed_bytes_mut()[i] ^= bit;
            assert!(
                matches!(bad.open(), Err(Error::Open)),
                "byte {i} bit {bit:#x}"
            );
        }
    }
    assert!(
        enclave
            .open()
            .unwrap()
            .ct_eq(b"0123456789abcdef0123456789abcdef")
    );
}

#[test]
fn same_secret_seals_differently_each_time() {
    let mut a = [7u8; 32];
    let mut b = [7u8; 32];
    let mut ea = Enclave::from_bytes(&mut a).unwrap();
    let mut eb = Enclave::from_bytes(&mut b).unwrap();
    assert_ne!(ea.sealed_bytes_mut(), eb.sealed_bytes_mut(), "nonce reuse");
}

#[test]
fn stream_round_trips_through_write_and_read() {
    let data: Vec<u8> = (0..(3 * cairn_secmem::CHUNK + 12_345))
        .map(|i| (i * 31 % 253) as u8)
        .collect();
    let mut s = Stream::new();
    for piece in data.chunks(10_007) {
        s.write_all(piece).unwrap();
    }
    s.flush().unwrap();
    assert_eq!(s.len(), data.len());
    let mut first = vec![0u8; 100];
    s.read_exact(&mut first).unwrap();
    assert_eq!(first, data[..100]);
    let rest = s.flatten().unwrap();
    assert_eq!(&*rest.bytes(), &data[100..]);
    assert!(s.is_empty());
    assert_eq!(s.read(&mut first).unwrap(), 0);
}

#[test]
fn stream_chunks_stay_locked() {
    let mut s = Stream::new();
    s.write_all(&[1u8; 100_000]).unwrap();
    // Unflushed bytes are readable too.
    let mut total = 0;
    while let Some(chunk) = s.next_chunk().unwrap() {
        assert!(chunk.len() <= cairn_secmem::CHUNK);
        assert!(chunk.bytes().iter().all(|&b| b == 1));
        total += chunk.len();
    }
    assert_eq!(total, 100_000);
}
