/* Assembler macros: save and restore the SysV callee-saved registers (RBP RBX R12-R15). */
#ifndef RACEBED_CALLEE_SAVED_H
#define RACEBED_CALLEE_SAVED_H

.macro PUSH_CALLEE_SAVED
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

.macro POP_CALLEE_SAVED
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
.endm

#endif
