//! The frame decoder never panics, never yields a frame over its cap, and splits a stream the
//! same however it arrives.
#![no_main]
use libfuzzer_sys::fuzz_target;
use signet_proto::rpc::FrameDecoder;

fuzz_target!(|data: &[u8]| {
    let Some((&split, bytes)) = data.split_first() else {
        return;
    };
    let max = 64;
    let frames = |chunks: &mut dyn Iterator<Item = &[u8]>| {
        let mut d = FrameDecoder::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            d.push(chunk);
            while let Some(frame) = d.next_frame() {
                if let Ok(f) = &frame {
                    assert!(f.len() <= max);
                }
                out.push(frame);
            }
        }
        out
    };
    let whole = frames(&mut std::iter::once(bytes));
    let step = usize::from(split).max(1);
    let pieces = frames(&mut bytes.chunks(step));
    assert_eq!(whole, pieces);
});
