use distarray::local;

#[local]
const fn answer() -> u32 {
    42
}

fn main() {}
