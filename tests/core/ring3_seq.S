/*
 * Ring-3 code blobs. They are copied into the user region, so they only use RIP-relative
 * addressing within the blob and registers; labels are translated with user_addr().
 */
#define VEC_USER_INT 0xe8
#define VEC_USER_EXIT 0xe9

	.section .rodata.user, "a"
	.globl ring3_blob_start, ring3_blob_end
	.globl ring3_int_exit, ring3_syscall_exit, ring3_int3, ring3_int3_after, ring3_touch_kernel
	.globl ring3_touch_kernel_at, ring3_touch_kernel_resume
ring3_blob_start:

/* rdi = value: returns rdi + 1 through `int $VEC_USER_EXIT` */
ring3_int_exit:
	leaq 1(%rdi), %rax
	int $VEC_USER_EXIT

/* returns rdi * 2 through SYSCALL */
ring3_syscall_exit:
	leaq (%rdi, %rdi), %rax
	syscall
	ud2

/* int3 from ring 3 (the #BP handler returns to ring 3), then exit with rax = 7 */
ring3_int3:
	int3
ring3_int3_after:
	movl $7, %eax
	int $VEC_USER_EXIT

/* reads the kernel address in rdi: a #PF the handler turns into a return to the kernel */
ring3_touch_kernel:
ring3_touch_kernel_at:
	movq (%rdi), %rax
ring3_touch_kernel_resume:
	int $VEC_USER_EXIT

ring3_blob_end:
