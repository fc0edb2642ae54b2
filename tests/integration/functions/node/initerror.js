// Throws while the module loads: aws-lambda-ric posts /runtime/init/error.
'use strict';
throw new Error('init failed on purpose');
