#!/usr/bin/env node
// The user's first command: ./boot-vm.mjs <profile> [--dry-run]. See scripts/boot-vm.mjs.
import './scripts/boot-vm.mjs';
