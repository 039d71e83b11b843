# The trtx native addon (GPU memory, streams and TensorRT engines as scoped resources) is built here.
# It has no targets yet: the addon issue adds them. `"gypfile": false` in package.json keeps npm from
# running node-gyp on install until then, so `npm ci` needs no compiler.
{
  'targets': []
}
