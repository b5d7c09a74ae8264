"""The descriptor pool of every generated ``skinguard_protos`` module.

A private pool rather than protobuf's default one: TensorFlow and the official
``tensorflow-serving-api`` stubs register their own (fuller, possibly newer) copies of the same
``.proto`` files in the default pool, which refuses a second, different file of the same name.
Apart, both sets load in one process whatever their versions. ``protos/README.md`` has the detail.
"""

from google.protobuf import any_pb2, descriptor_pool, wrappers_pb2

DESCRIPTOR_POOL = descriptor_pool.DescriptorPool()

# The well-known types the vendored files import: a fresh pool starts empty.
for _well_known in (any_pb2, wrappers_pb2):
    DESCRIPTOR_POOL.AddSerializedFile(_well_known.DESCRIPTOR.serialized_pb)
