"""Tiny x86-64 ELF kernels for seam-vmx tests, built in Python.

Each is one PT_LOAD at 1 MiB holding a few instructions that run in the
64-bit state seam-vmx boots into: enough to reach a triple fault, a PV exit
or a console line without depending on seam-guest.
"""
import struct

LOAD = 0x100000


def elf(code: bytes, machine: int = 62, etype: int = 2) -> bytes:
    ehsize, phsize = 64, 56
    off = 0x1000
    entry = LOAD
    eh = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    eh += struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, ehsize, 0,
                      0, ehsize, phsize, 1, 0, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 7, off, LOAD, LOAD, len(code),
                     len(code) + 0x1000, 0x1000)
    img = eh + ph
    img += bytes(off - len(img))
    return img + code


def out_dx_eax(port: int, value: int) -> bytes:
    # mov edx, port; mov eax, value; out dx, eax
    return (b"\xba" + struct.pack("<I", port) + b"\xb8" +
            struct.pack("<I", value) + b"\xef")


def print_line(text: str) -> bytes:
    code = b""
    for ch in text.encode():
        # mov edx, 0x3f8; mov al, ch; out dx, al
        code += b"\xba" + struct.pack("<I", 0x3F8) + b"\xb0" + bytes([ch]) + b"\xee"
    return code


def shutdown_kernel(status: int = 7, line: str = "tiny hello\n") -> bytes:
    # print a line, write the PV exit port, then spin
    return elf(print_line(line) + out_dx_eax(0x0E08, status) + b"\xeb\xfe")


def triple_fault_kernel() -> bytes:
    # ud2 with no usable IDT: #UD -> #GP/#DF -> triple fault
    return elf(b"\x0f\x0b")


def spin_kernel(line: str = "spin\n") -> bytes:
    return elf(print_line(line) + b"\xeb\xfe")


def reset_kernel() -> bytes:
    # mov al, 0xfe; out 0x64, al
    return elf(b"\xb0\xfe\xe6\x64" + b"\xeb\xfe")
