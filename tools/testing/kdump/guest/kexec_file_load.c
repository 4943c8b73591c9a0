// SPDX-License-Identifier: GPL-2.0
/*
 * kexec_file_load(2) of one kernel image, printing what the kernel said:
 * "ok", or the errno's name. kexec-tools folds EINVAL, ENOEXEC, ENOSYS and
 * ENOTSUP into one message, so tools/testing/kdump asks the syscall itself
 * when it checks how the kernel refuses a broken image.
 *
 * Usage: kexec_file_load IMAGE [CMDLINE]
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
	const char *cmdline = argc > 2 ? argv[2] : "";
	long ret;
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: %s IMAGE [CMDLINE]\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	ret = syscall(SYS_kexec_file_load, fd, -1, strlen(cmdline) + 1, cmdline,
		      (unsigned long)KEXEC_FILE_NO_INITRAMFS);
	if (ret) {
		int e = errno;

		printf("%s (%d: %s)\n", errno_name(e), e, strerror(e));
		return 1;
	}
	printf("ok\n");
	return 0;
}
