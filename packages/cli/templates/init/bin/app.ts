/** The CDK app: `npm run deploy` (cdk deploy) puts the workflows of workflows/ on AWS Lambda, DynamoDB and SQS. */

import { SoeStack } from '@soe/cdk';
import { App } from 'aws-cdk-lib';

const app = new App();
new SoeStack(app, '__STACK_NAME__', {
  orchestrator: {
    workflowsDir: 'workflows',
    toolsEntry: 'src/tools.ts',
    // Deployed, replace the scripted model: modelProvider 'bedrock' with a modelId, or 'openai' with a modelSecret.
    modelProvider: 'scripted',
    scriptedModelFile: 'models/scripted-model.yaml',
  },
});
