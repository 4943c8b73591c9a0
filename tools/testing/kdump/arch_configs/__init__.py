# SPDX-License-Identifier: GPL-2.0
"""One module per architecture, each defining ARCH (kdump_arch.ArchConfig)."""
