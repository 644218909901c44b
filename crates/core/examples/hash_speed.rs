fn main() {
    let raw = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let n = raw.len() / 16384;
    let o = vdedup_core::HashOptions::default();
    for (label, opts) in [
        ("whole", o),
        ("center", vdedup_core::HashOptions { center_crop: 0.5, ..o }),
        ("strip", vdedup_core::HashOptions { strip_aspect: 0.5625, display_aspect: 1.777, ..o }),
    ] {
        let t = std::time::Instant::now();
        for _ in 0..10 {
            std::hint::black_box(vdedup_core::hash_frames(&raw, 128, 128, &opts).unwrap());
        }
        println!("{label}: {:.1} us/frame", t.elapsed().as_secs_f64() * 1e6 / (10 * n) as f64);
    }
}
