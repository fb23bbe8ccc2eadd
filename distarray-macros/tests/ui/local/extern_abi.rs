use distarray::local;

#[local]
extern "C" fn answer() -> u32 {
    42
}

fn main() {}
