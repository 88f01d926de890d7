//go:build !purego

#include "go_asm.h"
#include "textflag.h"

// func pairsBlocks(s []byte, n int, p, q *pair) int
//
// pairsBlocks returns the first i in [0, n) where s holds p's bytes or q's at their
// offsets from i, or -1. n is a multiple of 32 and n plus the largest offset is at
// most len(s); the caller checks that the CPU has AVX2.
TEXT ·pairsBlocks(SB), NOSPLIT, $0-56
	MOVQ s_base+0(FP), SI
	MOVQ n+24(FP), BX
	MOVQ p+32(FP), AX
	MOVQ q+40(FP), CX

	// R8..R11 point at the four bytes' places for i = 0; Y0..Y3 hold the bytes.
	MOVQ         pair_o0(AX), R8
	ADDQ         SI, R8
	MOVQ         pair_o1(AX), R9
	ADDQ         SI, R9
	MOVQ         pair_o0(CX), R10
	ADDQ         SI, R10
	MOVQ         pair_o1(CX), R11
	ADDQ         SI, R11
	MOVBQZX      pair_c0(AX), DX
	MOVQ         DX, X0
	VPBROADCASTB X0, Y0
	MOVBQZX      pair_c1(AX), DX
	MOVQ         DX, X1
	VPBROADCASTB X1, Y1
	MOVBQZX      pair_c0(CX), DX
	MOVQ         DX, X2
	VPBROADCASTB X2, Y2
	MOVBQZX      pair_c1(CX), DX
	MOVQ         DX, X3
	VPBROADCASTB X3, Y3
	XORQ         DI, DI

loop:
	CMPQ      DI, BX
	JAE       none
	VPCMPEQB  (R8)(DI*1), Y0, Y4
	VPCMPEQB  (R9)(DI*1), Y1, Y5
	VPAND     Y4, Y5, Y4
	VPCMPEQB  (R10)(DI*1), Y2, Y6
	VPCMPEQB  (R11)(DI*1), Y3, Y7
	VPAND     Y6, Y7, Y6
	VPOR      Y4, Y6, Y4
	VPMOVMSKB Y4, DX
	TESTL     DX, DX
	JNZ       found
	ADDQ      $32, DI
	JMP       loop

found:
	BSFL DX, DX
	ADDQ DX, DI
	MOVQ DI, ret+48(FP)
	VZEROUPPER
	RET

none:
	MOVQ $-1, ret+48(FP)
	VZEROUPPER
	RET
