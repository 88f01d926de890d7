//go:build !purego

#include "textflag.h"

// func pairBlocks(s []byte, n, d int, c0, c1 byte) int
//
// pairBlocks returns the first i in [0, n) with s[i] == c0 and s[i+d] == c1, or -1.
// n is a multiple of 32 and n+d <= len(s); the caller checks that the CPU has AVX2.
TEXT ·pairBlocks(SB), NOSPLIT, $0-56
	MOVQ    s_base+0(FP), SI
	MOVQ    n+24(FP), BX
	MOVQ    d+32(FP), DX
	MOVBQZX c0+40(FP), AX
	MOVBQZX c1+41(FP), CX
	LEAQ    (SI)(DX*1), R8      // R8 = &s[d]
	MOVQ    AX, X0
	VPBROADCASTB X0, Y0
	MOVQ    CX, X1
	VPBROADCASTB X1, Y1
	XORQ    DI, DI

loop:
	CMPQ      DI, BX
	JAE       none
	VPCMPEQB  (SI)(DI*1), Y0, Y2
	VPCMPEQB  (R8)(DI*1), Y1, Y3
	VPAND     Y2, Y3, Y2
	VPMOVMSKB Y2, R9
	TESTL     R9, R9
	JNZ       found
	ADDQ      $32, DI
	JMP       loop

found:
	BSFL R9, R9
	ADDQ R9, DI
	MOVQ DI, ret+48(FP)
	VZEROUPPER
	RET

none:
	MOVQ $-1, ret+48(FP)
	VZEROUPPER
	RET
