/* A shared library that is not a chip plugin (no mpcl_chip_backend). */
int mpcl_not_a_chip(void) { return 42; }
