// SPDX-License-Identifier: GPL-2.0
/*
 * kexec_file_load(2) of one kernel image, printing what the kernel said:
 * "ok", or the errno's name. kexec-tools folds EINVAL, ENOEXEC, ENOSYS and
 * ENOTSUP into one message, so tools/testing/kdump asks the syscall itself
 * when it checks how the kernel refuses a broken image. It also loads a
 * crash kernel where kexec-tools will not: riscv64's kexec-tools refuses
 * kexec -s -p when /proc/iomem lists two "Crash kernel" ranges
 * (crashkernel=,high and ,low), which the kernel itself handles.
 *
 * Usage: kexec_file_load [-p] [-i INITRD] IMAGE [CMDLINE]
 *   -p         load a crash kernel (KEXEC_FILE_ON_CRASH)
 *   -i INITRD  with this initramfs (default: none)
 * Exit status: 0 if the image was loaded, 1 if the kernel refused it, 2 on
 * a usage or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kexec.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case ENOEXEC: return "ENOEXEC";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	unsigned long flags = KEXEC_FILE_NO_INITRAMFS;
	const char *initrd = NULL, *cmdline = "";
	int fd, initrd_fd = -1, opt;
	long ret;

	while ((opt = getopt(argc, argv, "pi:")) != -1) {
		switch (opt) {
		case 'p':
			flags |= KEXEC_FILE_ON_CRASH;
			break;
		case 'i':
			initrd = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: %s [-p] [-i INITRD] IMAGE [CMDLINE]\n",
			argv[0]);
		return 2;
	}
	if (optind + 1 < argc)
		cmdline = argv[optind + 1];
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0) {
		perror(argv[optind]);
		return 2;
	}
	if (initrd) {
		initrd_fd = open(initrd, O_RDONLY);
		if (initrd_fd < 0) {
			perror(initrd);
			return 2;
		}
		flags &= ~KEXEC_FILE_NO_INITRAMFS;
	}
	ret = syscall(SYS_kexec_file_load, fd, initrd_fd, strlen(cmdline) + 1,
		      cmdline, flags);
	if (ret) {
		int e = errno;

		printf("%s (%d: %s)\n", errno_name(e), e, strerror(e));
		return 1;
	}
	printf("ok\n");
	return 0;
}
