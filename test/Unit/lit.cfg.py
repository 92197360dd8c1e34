# -*- Python -*-
# Runs the gtest unit tests (unittests/) as part of the lit suite.
import os

import lit.formats

config.name = "SMQ-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.smq_obj_root, "bin")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
