/**
 * The routing config the tests run against: a surface with a default endpoint, a model and an
 * allowed override (`chat`), a plain one (`images`), and one with models only (`modelsonly`).
 */
export const TEST_ROUTING = {
  surfaces: {
    chat: {
      endpointId: 'chatendpoint01',
      models: { 'llama-3-8b': 'llama3endpoint01' },
      allowedEndpointIds: ['chatcanary01'],
    },
    images: { endpointId: 'imagesendpoint1' },
    modelsonly: { models: { small: 'smallendpoint01' } },
  },
};
