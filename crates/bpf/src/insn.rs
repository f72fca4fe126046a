//! eBPF instructions: one decoder for every pass that reads code (dependencies, flow,
//! instruction-set features).
//!
//! An instruction is 8 bytes: opcode, a byte holding the destination and source registers
//! (nibble order follows the object's byte order), a signed 16-bit offset and a signed 32-bit
//! immediate. `ld_imm64` takes two slots; its second slot holds the upper 32 bits.

/// Instruction classes (low 3 bits of the opcode).
pub const LD: u8 = 0;
pub const LDX: u8 = 1;
pub const ST: u8 = 2;
pub const STX: u8 = 3;
pub const ALU: u8 = 4;
pub const JMP: u8 = 5;
pub const JMP32: u8 = 6;
pub const ALU64: u8 = 7;

/// `src` values of `call` and `ld_imm64` that libbpf and the kernel give meaning to.
pub const PSEUDO_CALL: u8 = 1;
pub const PSEUDO_KFUNC_CALL: u8 = 2;
pub const PSEUDO_MAP_FD: u8 = 1;
pub const PSEUDO_MAP_VALUE: u8 = 2;
pub const PSEUDO_BTF_ID: u8 = 3;
pub const PSEUDO_FUNC: u8 = 4;

/// One decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// Decodes the instruction at index `i` of `code`; `None` past the end.
    pub fn at(code: &[u8], i: usize, big_endian: bool) -> Option<Insn> {
        let b: &[u8; 8] = code
            .get(i.checked_mul(8)?..i.checked_mul(8)? + 8)?
            .try_into()
            .ok()?;
        let (dst, src) = if big_endian {
            (b[1] >> 4, b[1] & 0xf)
        } else {
            (b[1] & 0xf, b[1] >> 4)
        };
        let off = [b[2], b[3]];
        let imm = [b[4], b[5], b[6], b[7]];
        Some(Insn {
            code: b[0],
            dst,
            src,
            off: if big_endian {
                i16::from_be_bytes(off)
            } else {
                i16::from_le_bytes(off)
            },
            imm: if big_endian {
                i32::from_be_bytes(imm)
            } else {
                i32::from_le_bytes(imm)
            },
        })
    }

    pub fn class(&self) -> u8 {
        self.code & 7
    }

    /// The operation bits of ALU and jump instructions.
    pub fn op(&self) -> u8 {
        self.code & 0xf0
    }

    /// The mode bits of load and store instructions.
    pub fn mode(&self) -> u8 {
        self.code & 0xe0
    }

    /// The size bits of load and store instructions, in bytes.
    pub fn size(&self) -> u8 {
        match self.code & 0x18 {
            0x00 => 4,
            0x08 => 2,
            0x10 => 1,
            _ => 8,
        }
    }

    /// The source operand is a register (`BPF_X`) rather than the immediate.
    pub fn from_reg(&self) -> bool {
        self.code & 8 != 0
    }

    /// `ld_imm64` (two slots).
    pub fn is_ld_imm64(&self) -> bool {
        self.code == 0x18
    }

    /// `call`: a helper (src 0), a BPF-to-BPF call (src 1) or a kfunc (src 2).
    pub fn is_call(&self) -> bool {
        self.code == 0x85
    }

    pub fn is_exit(&self) -> bool {
        self.code == 0x95
    }

    /// A conditional or unconditional jump (not call or exit).
    pub fn is_jump(&self) -> bool {
        matches!(self.class(), JMP | JMP32) && !matches!(self.op(), 0x80 | 0x90)
    }

    /// Where a jump at `pc` goes when taken (`gotol`, the 32-bit `ja`, takes its distance
    /// from the immediate).
    pub fn jump_target(&self, pc: usize) -> Option<usize> {
        let d = if self.class() == JMP32 && self.op() == 0x00 {
            i64::from(self.imm)
        } else {
            i64::from(self.off)
        };
        usize::try_from(pc as i64 + 1 + d).ok()
    }

    /// Registers a register number can name (r0-r10); a corrupt number reads as r10.
    pub fn dst_reg(&self) -> usize {
        usize::from(self.dst).min(10)
    }

    pub fn src_reg(&self) -> usize {
        usize::from(self.src).min(10)
    }
}

/// The number of instructions in `code` (whole 8-byte slots).
pub fn count(code: &[u8]) -> usize {
    code.len() / 8
}

#[cfg(test)]
pub(crate) fn encode(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = code;
    b[1] = dst | (src << 4);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_byte_orders_decode_alike() {
        let le = encode(0x61, 2, 1, -8, 0x1234_5678);
        let mut be = le;
        be[1] = (2 << 4) | 1;
        be[2..4].copy_from_slice(&(-8i16).to_be_bytes());
        be[4..8].copy_from_slice(&0x1234_5678i32.to_be_bytes());
        let a = Insn::at(&le, 0, false).unwrap();
        let b = Insn::at(&be, 0, true).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.dst, a.src, a.off, a.imm), (2, 1, -8, 0x1234_5678));
        assert_eq!(a.class(), LDX);
        assert_eq!(a.size(), 4);
        assert!(Insn::at(&le, 1, false).is_none());
        assert!(Insn::at(&le, usize::MAX, false).is_none());
    }
}
